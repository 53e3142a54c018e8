import { parseArgs } from 'node:util';
import { ORDER_STATUSES, type OrderStatus } from '../orders/types';
import { CliError, EXIT } from './errors';

/** The `orders` command line, read into one command. Pure: no I/O. */

export const ORDERS_USAGE = `usage: orders <command> [--json]
  create <product>x<qty>... [--item <product>:<qty>]... [--key IDEMPOTENCY_KEY]
                         place an order, e.g. \`orders create 1x2 3x1\`
  list [STATUS] [--status STATUS] [--page N] [--limit N]
                         orders, newest first (STATUS: ${ORDER_STATUSES.join(', ')})
  show <orderId>         the order, its items and its timeline
  pay <orderId> [--payments-url URL]
                         local development: pays the order's checkout with a signed test webhook
  deliver <orderId>      mark a PAID order DELIVERED
  cancel <orderId>       cancel an order (a PAID one is refunded)
  products [--page N] [--limit N]
                         the product catalogue
Options: --json prints the service's answer as JSON. Exit codes: 0 ok, 1 the service answered an
error, 2 usage error, 3 NATS, Temporal or the payments service cannot be reached.`;

export interface RequestedLine {
  productId: number | string;
  quantity: number;
}

export type OrdersCommand =
  | { kind: 'help' }
  | { kind: 'create'; payload: unknown }
  | { kind: 'list'; query: { status?: string; page?: number; limit?: number } }
  | { kind: 'show'; id: string }
  | { kind: 'pay'; id: string; paymentsUrl?: string }
  | { kind: 'status'; id: string; status: OrderStatus }
  | { kind: 'products'; query: { page: number; limit: number } };

export interface ParsedCommandLine {
  command: OrdersCommand;
  json: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const usage = (message: string): CliError => new CliError(EXIT.usage, message);

function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(value)) throw usage(`${flag} must be a positive integer, got '${value}'`);
  return Number(value);
}

/** `3x2` or `3:2`: product 3, quantity 2. A product id that is not a number is passed on as a string. */
export function parseItem(text: string): RequestedLine {
  const match = /^([^\s:x]+)[x:](\d+)$/.exec(text);
  if (match === null) throw usage(`not an item: '${text}' (write <product>x<quantity>, e.g. 3x2)`);
  const [, product, quantity] = match as unknown as [string, string, string];
  if (!/^[1-9]\d{0,8}$/.test(quantity)) throw usage(`quantity of '${text}' must be a positive integer`);
  return { productId: /^[1-9]\d{0,14}$/.test(product) ? Number(product) : product, quantity: Number(quantity) };
}

function orderId(positionals: string[], command: string): string {
  const [id, ...extra] = positionals;
  if (id === undefined) throw usage(`${command}: an order id is required (orders ${command} <orderId>)`);
  if (extra.length > 0) throw usage(`${command}: unexpected argument '${extra[0]}'`);
  return id;
}

function status(text: string): OrderStatus {
  const upper = text.toUpperCase();
  if (!(ORDER_STATUSES as readonly string[]).includes(upper)) {
    throw usage(`not a status: '${text}' (one of ${ORDER_STATUSES.join(', ')})`);
  }
  return upper as OrderStatus;
}

/** Allows only the flags a command takes, so a misplaced one is a usage error rather than ignored. */
function allowOnly(values: Record<string, unknown>, command: string, allowed: readonly string[]): void {
  for (const [flag, value] of Object.entries(values)) {
    if (value === undefined || flag === 'json' || flag === 'help' || allowed.includes(flag)) continue;
    throw usage(`${command}: unsupported flag --${flag}`);
  }
}

export function parseOrdersCommandLine(argv: readonly string[]): ParsedCommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        item: { type: 'string', multiple: true },
        key: { type: 'string' },
        status: { type: 'string' },
        page: { type: 'string' },
        limit: { type: 'string' },
        'payments-url': { type: 'string' },
      },
    });
  } catch (error) {
    throw usage((error as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const { values } = parsed;
  const json = values.json === true;
  const [name, ...rest] = parsed.positionals;
  if (values.help === true || name === 'help') return { command: { kind: 'help' }, json };
  if (name === undefined)
    throw usage(`no command given (create, list, show, pay, deliver, cancel, products; --help for more)`);

  switch (name) {
    case 'create': {
      allowOnly(values, name, ['item', 'key']);
      // `create '{"items":[...]}'`: the request body as JSON, as `npm run order` took it before.
      if (
        rest.length === 1 &&
        rest[0]?.trim().startsWith('{') &&
        values.item === undefined &&
        values.key === undefined
      ) {
        try {
          return { command: { kind: 'create', payload: JSON.parse(rest[0]) as unknown }, json };
        } catch {
          throw usage(`create: not valid JSON: ${rest[0]}`);
        }
      }
      const items = [...rest, ...(values.item ?? [])].map(parseItem);
      if (items.length === 0) throw usage('create: at least one item is required (e.g. orders create 1x2 3x1)');
      const payload = { items, ...(values.key !== undefined ? { idempotencyKey: values.key } : {}) };
      return { command: { kind: 'create', payload }, json };
    }
    case 'list': {
      allowOnly(values, name, ['status', 'page', 'limit']);
      // `list PAID 2`: status and page as positionals, as `npm run order` took them before.
      const [statusText, pageText, ...extra] = rest;
      if (extra.length > 0) throw usage(`list: unexpected argument '${extra[0]}'`);
      const wanted = values.status ?? statusText;
      const page = positiveInteger(values.page ?? pageText, '--page');
      const limit = positiveInteger(values.limit, '--limit');
      const query = {
        ...(wanted !== undefined ? { status: status(wanted) } : {}),
        ...(page !== undefined ? { page } : {}),
        ...(limit !== undefined ? { limit } : {}),
      };
      return { command: { kind: 'list', query }, json };
    }
    case 'show':
    case 'get':
      allowOnly(values, name, []);
      return { command: { kind: 'show', id: orderId(rest, name) }, json };
    case 'pay': {
      allowOnly(values, name, ['payments-url']);
      const id = orderId(rest, name);
      if (!UUID.test(id)) throw usage(`pay: not an order id (a uuid): '${id}'`);
      return { command: { kind: 'pay', id, paymentsUrl: values['payments-url'] }, json };
    }
    case 'deliver':
      allowOnly(values, name, []);
      return { command: { kind: 'status', id: orderId(rest, name), status: 'DELIVERED' }, json };
    case 'cancel':
      allowOnly(values, name, []);
      return { command: { kind: 'status', id: orderId(rest, name), status: 'CANCELLED' }, json };
    case 'status': {
      // `status <orderId> <STATUS>`, as `npm run order` took it before.
      allowOnly(values, name, []);
      const [id, wanted, ...extra] = rest;
      if (id === undefined || wanted === undefined) throw usage('status: write orders status <orderId> <STATUS>');
      if (extra.length > 0) throw usage(`status: unexpected argument '${extra[0]}'`);
      return { command: { kind: 'status', id, status: status(wanted) }, json };
    }
    case 'products': {
      allowOnly(values, name, ['page', 'limit']);
      if (rest.length > 0) throw usage(`products: unexpected argument '${rest[0]}'`);
      const query = {
        page: positiveInteger(values.page, '--page') ?? 1,
        limit: positiveInteger(values.limit, '--limit') ?? 100,
      };
      return { command: { kind: 'products', query }, json };
    }
    default:
      throw usage(`unknown command '${name}' (create, list, show, pay, deliver, cancel, products; --help for more)`);
  }
}
