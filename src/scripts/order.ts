import { loadConfigOrExit } from '../config';
import { connectNats } from '../nats/connection';
import { requestPeer, RpcError } from '../nats/nest-transport';

const USAGE = `Usage: npm run order -- <command>
  create '<json>'        place an order, e.g. '{"items":[{"productId":1,"quantity":2}]}'
  get <orderId>          show one order
  list [STATUS] [page]   list orders, newest first (STATUS: PENDING, PAID, DELIVERED, CANCELLED)
  status <orderId> <STATUS>  change an order's status (DELIVERED or CANCELLED)`;

/** The request a command sends over NATS, exactly as a NestJS peer would. */
function toRequest(args: string[]): { subject: string; payload: unknown } {
  const [command, first, second] = args;
  switch (command) {
    case 'create': {
      if (first === undefined) break;
      try {
        return { subject: 'orders.create', payload: JSON.parse(first) };
      } catch {
        throw new Error(`Not valid JSON: ${first}`);
      }
    }
    case 'get':
      if (first === undefined) break;
      return { subject: 'orders.find.one', payload: { id: first } };
    case 'list':
      return {
        subject: 'orders.find.all',
        payload: { ...(first ? { status: first } : {}), ...(second ? { page: Number(second) } : {}) },
      };
    case 'status':
      if (first === undefined || second === undefined) break;
      return { subject: 'orders.change.status', payload: { id: first, status: second } };
    default:
  }
  throw new Error(USAGE);
}

async function main(): Promise<number> {
  let request: { subject: string; payload: unknown };
  try {
    request = toRequest(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const config = loadConfigOrExit();
  const nats = await connectNats({ ...config.nats }, 'orders-cli');
  try {
    const response = await requestPeer(nats, request.subject, request.payload, config.orders.createTimeoutMs + 1_000);
    process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    process.stderr.write(`${JSON.stringify(error.toBody(), null, 2)}\n`);
    return 1;
  } finally {
    await nats.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
