import { CliError } from '../../src/cli/errors';
import { parseItem, parseOrdersCommandLine } from '../../src/cli/orders-args';
import { table } from '../../src/cli/table';

const ID = '3f2c7d8e-1111-4222-8333-944455556666';

const usageMessage = (argv: string[]): string => {
  try {
    parseOrdersCommandLine(argv);
  } catch (error) {
    if (error instanceof CliError && error.exitCode === 2) return error.message;
    throw error;
  }
  throw new Error(`expected ${argv.join(' ')} to be a usage error`);
};

describe('orders command line', () => {
  it.each([
    [
      ['create', '1x2', '3x1'],
      {
        kind: 'create',
        payload: {
          items: [
            { productId: 1, quantity: 2 },
            { productId: 3, quantity: 1 },
          ],
        },
      },
    ],
    [
      ['create', '--item', '1:2', '--item', '7:1', '--key', 'k-1'],
      {
        kind: 'create',
        payload: {
          items: [
            { productId: 1, quantity: 2 },
            { productId: 7, quantity: 1 },
          ],
          idempotencyKey: 'k-1',
        },
      },
    ],
    [
      ['create', '1x2', '--item', 'sku-9:4'],
      {
        kind: 'create',
        payload: {
          items: [
            { productId: 1, quantity: 2 },
            { productId: 'sku-9', quantity: 4 },
          ],
        },
      },
    ],
    [
      ['create', '{"items":[{"productId":1,"quantity":2}]}'],
      { kind: 'create', payload: { items: [{ productId: 1, quantity: 2 }] } },
    ],
    [['list'], { kind: 'list', query: {} }],
    [
      ['list', '--status', 'paid', '--page', '2', '--limit', '50'],
      { kind: 'list', query: { status: 'PAID', page: 2, limit: 50 } },
    ],
    [['list', 'PENDING', '3'], { kind: 'list', query: { status: 'PENDING', page: 3 } }],
    [['show', ID], { kind: 'show', id: ID }],
    [['get', ID], { kind: 'show', id: ID }],
    [['pay', ID], { kind: 'pay', id: ID }],
    [
      ['pay', ID, '--payments-url', 'http://127.0.0.1:3003'],
      { kind: 'pay', id: ID, paymentsUrl: 'http://127.0.0.1:3003' },
    ],
    [['deliver', ID], { kind: 'status', id: ID, status: 'DELIVERED' }],
    [['cancel', ID], { kind: 'status', id: ID, status: 'CANCELLED' }],
    [['status', ID, 'delivered'], { kind: 'status', id: ID, status: 'DELIVERED' }],
    [['products'], { kind: 'products', query: { page: 1, limit: 100 } }],
    [['products', '--page', '2', '--limit', '10'], { kind: 'products', query: { page: 2, limit: 10 } }],
    [['--help'], { kind: 'help' }],
    [['help'], { kind: 'help' }],
  ])('reads %j', (argv, command) => {
    expect(parseOrdersCommandLine(argv)).toEqual({ command, json: false });
  });

  it('takes --json anywhere', () => {
    expect(parseOrdersCommandLine(['--json', 'show', ID])).toEqual({ command: { kind: 'show', id: ID }, json: true });
    expect(parseOrdersCommandLine(['list', '--json'])).toEqual({ command: { kind: 'list', query: {} }, json: true });
  });

  it.each([
    [[], 'no command given'],
    [['ship'], "unknown command 'ship'"],
    [['create'], 'create: at least one item is required'],
    [['create', '1x'], "not an item: '1x'"],
    [['create', 'x2'], "not an item: 'x2'"],
    [['create', '1x0'], "quantity of '1x0' must be a positive integer"],
    [['create', '{not json'], 'create: not valid JSON'],
    [['create', '1x1', '--status', 'PAID'], 'create: unsupported flag --status'],
    [['list', 'SHIPPED'], "not a status: 'SHIPPED'"],
    [['list', '--page', '0'], "--page must be a positive integer, got '0'"],
    [['list', '--limit=-1'], "--limit must be a positive integer, got '-1'"],
    [['list', 'PAID', '1', 'extra'], "list: unexpected argument 'extra'"],
    [['show'], 'show: an order id is required'],
    [['show', ID, ID], `show: unexpected argument '${ID}'`],
    [['pay', 'abc'], "pay: not an order id (a uuid): 'abc'"],
    [['deliver', ID, '--key', 'k'], 'deliver: unsupported flag --key'],
    [['status', ID], 'status: write orders status <orderId> <STATUS>'],
    [['products', 'all'], "products: unexpected argument 'all'"],
    [['list', '--nope'], "Unknown option '--nope'"],
    [['create', '--item'], "Option '--item <value>' argument missing"],
  ])('refuses %j as a usage error', (argv, message) => {
    const text = usageMessage(argv);
    expect(text).toContain(message);
    expect(text).not.toContain('\n');
  });

  it('reads items as <product>x<qty> and <product>:<qty>', () => {
    expect(parseItem('12x3')).toEqual({ productId: 12, quantity: 3 });
    expect(parseItem('12:3')).toEqual({ productId: 12, quantity: 3 });
  });
});

describe('text tables', () => {
  it('aligns columns, numbers to the right', () => {
    expect(
      table(
        [{ header: 'ID' }, { header: 'PRICE', align: 'right' }],
        [
          ['1', '9.50'],
          ['1234', '120.00'],
        ],
      ),
    ).toBe(['ID     PRICE', '1       9.50', '1234  120.00'].join('\n'));
  });
});
