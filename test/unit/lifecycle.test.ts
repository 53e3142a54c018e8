import { checkRequestedTransition, isFinal } from '../../src/orders/lifecycle';
import { ORDER_STATUSES, type OrderStatus } from '../../src/orders/types';

describe('order lifecycle', () => {
  const allowed: Array<[OrderStatus, OrderStatus]> = [
    ['PENDING', 'CANCELLED'],
    ['PAID', 'DELIVERED'],
    ['PAID', 'CANCELLED'],
  ];

  it.each(allowed)('allows %s -> %s', (from, to) => {
    expect(checkRequestedTransition(from, to)).toEqual({ kind: 'allowed' });
  });

  it('treats the status an order already has as unchanged', () => {
    for (const status of ORDER_STATUSES) {
      expect(checkRequestedTransition(status, status)).toEqual({ kind: 'unchanged' });
    }
  });

  it('forbids every other transition and names both states', () => {
    for (const from of ORDER_STATUSES) {
      for (const to of ORDER_STATUSES) {
        if (from === to || allowed.some(([a, b]) => a === from && b === to)) continue;
        const check = checkRequestedTransition(from, to);
        expect(check.kind).toBe('forbidden');
        expect(check.kind === 'forbidden' && check.message).toContain(`from ${from} to ${to}`);
      }
    }
  });

  it('never lets a caller set PAID', () => {
    expect(checkRequestedTransition('PENDING', 'PAID').kind).toBe('forbidden');
  });

  it('knows the final states', () => {
    expect(ORDER_STATUSES.filter(isFinal)).toEqual(['DELIVERED', 'CANCELLED']);
  });
});
