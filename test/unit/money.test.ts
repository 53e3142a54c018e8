import { fromMinorUnits, minorUnitDigits, toMinorUnits, totalCents } from '../../src/orders/money';

describe('money', () => {
  it('converts currency units to integer cents without float drift', () => {
    expect(toMinorUnits(19.99, 'usd')).toBe(1999);
    expect(toMinorUnits(0.1 + 0.2, 'usd')).toBe(30);
    expect(toMinorUnits(1_000_000.01, 'usd')).toBe(100_000_001);
  });

  it('refuses negative and non-finite amounts', () => {
    expect(() => toMinorUnits(-1, 'usd')).toThrow(RangeError);
    expect(() => toMinorUnits(Number.NaN, 'usd')).toThrow(RangeError);
  });

  it('refuses a total beyond the integers a number holds exactly, rather than summing it wrong', () => {
    expect(totalCents([{ priceCents: 3_100_000_000_000_000, quantity: 2 }])).toBe(6_200_000_000_000_000);
    expect(() => totalCents([{ priceCents: 3_100_000_000_000_000, quantity: 3 }])).toThrow(RangeError);
    expect(() => totalCents([{ priceCents: 1e19, quantity: 1 }])).toThrow(RangeError);
  });

  it('sums in minor units, so ten lines of 0.10 x 3 are exactly 3.00', () => {
    const lines = Array.from({ length: 10 }, () => ({ priceCents: toMinorUnits(0.1, 'usd'), quantity: 3 }));
    expect(totalCents(lines)).toBe(300);
    expect(fromMinorUnits(totalCents(lines), 'usd')).toBe(3);
  });

  it("follows each currency's minor unit as Stripe defines it", () => {
    expect([minorUnitDigits('usd'), minorUnitDigits('JPY'), minorUnitDigits('krw'), minorUnitDigits('bhd')]).toEqual([
      2, 0, 0, 3,
    ]);
    // Zero-decimal: 1500 yen are 1500 minor units, not 150000.
    expect(toMinorUnits(1500, 'jpy')).toBe(1500);
    expect(fromMinorUnits(1500, 'jpy')).toBe(1500);
    expect(toMinorUnits(25_000, 'vnd')).toBe(25_000);
    // Three-decimal: thousandths.
    expect(toMinorUnits(1.234, 'kwd')).toBe(1234);
    expect(fromMinorUnits(1234, 'kwd')).toBe(1.234);
    expect(fromMinorUnits(1999, 'eur')).toBe(19.99);
  });
});
