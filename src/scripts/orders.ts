import type { Client } from '@temporalio/client';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadConfigOrExit } from '../config';
import { CliError, EXIT } from '../cli/errors';
import { ORDERS_USAGE, parseOrdersCommandLine, type ParsedCommandLine } from '../cli/orders-args';
import { runOrdersCommand, type OrdersCliContext } from '../cli/orders-commands';
import { fetchOrderTimeline } from '../cli/order-history';
import { connectNats } from '../nats/connection';
import { connectTemporalClient } from '../temporal/connection';

/**
 * `orders <command>` (also `npm run orders --` and `npm run order --`): a command line for people,
 * talking to the service over NATS like any NestJS peer and reading timelines from Temporal.
 */

/** Connects on first use; a connection that cannot be made is exit code 3. */
function lazy<T>(connect: () => Promise<T>, what: string): { get(): Promise<T>; opened(): Promise<T> | undefined } {
  let connection: Promise<T> | undefined;
  return {
    get() {
      connection ??= connect().catch((error: unknown) => {
        throw new CliError(EXIT.unreachable, `cannot reach ${what}: ${(error as Error).message}`);
      });
      return connection;
    },
    opened: () => connection,
  };
}

async function main(): Promise<number> {
  let parsed: ParsedCommandLine;
  try {
    parsed = parseOrdersCommandLine(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`orders: ${error.message}\n`);
    return error.exitCode;
  }
  if (parsed.command.kind === 'help') {
    process.stdout.write(`${ORDERS_USAGE}\n`);
    return EXIT.ok;
  }

  const config = loadConfigOrExit('tool');
  // A first connection that fails rejects at once (reconnecting applies to established ones): exit code 3.
  const lazyNats = lazy<NatsConnection>(() => connectNats(config.nats, 'orders-cli'), `NATS at ${config.nats.url}`);
  const temporal = lazy<Client>(() => connectTemporalClient(config.temporal), `Temporal at ${config.temporal.address}`);
  const context: OrdersCliContext = {
    config,
    nats: () => lazyNats.get(),
    timeline: async (orderId) => fetchOrderTimeline(await temporal.get(), orderId),
  };
  try {
    const output = await runOrdersCommand(parsed.command, context);
    process.stdout.write(parsed.json ? `${JSON.stringify(output.json, null, 2)}\n` : `${output.text}\n`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`orders: ${error.message}\n`);
    return error.exitCode;
  } finally {
    await Promise.allSettled([
      lazyNats.opened()?.then((nats) => nats.close()),
      temporal.opened()?.then((client) => client.connection.close()),
    ]);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`orders: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
