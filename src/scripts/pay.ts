import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../config';
import { checkoutSessionEvent, postWebhook, signEvent, webhookUrl } from '../payments/test-events';

/**
 * `npm run pay -- <orderId> [--payments-url URL]`: completes an order's checkout offline by
 * sending the payments service a signed `checkout.session.completed`, exactly as Stripe would.
 */

const USAGE = 'usage: npm run pay -- <orderId> [--payments-url URL]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ options: { 'payments-url': { type: 'string' } }, allowPositionals: true });
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  const [orderId, ...extra] = parsed.positionals;
  if (orderId === undefined || extra.length > 0) fail(USAGE);
  if (!UUID.test(orderId)) fail(`Not an order id (a uuid): ${orderId}`);

  const config = loadConfigOrExit();
  const target = webhookUrl(parsed.values['payments-url'] ?? config.payments.publicUrl);
  const event = checkoutSessionEvent({ orderId: orderId.toLowerCase() });
  const paymentId = event.data.object.payment_intent as string;

  let answer;
  try {
    answer = await postWebhook(target, signEvent(event, config.stripe.webhookSecret));
  } catch (error) {
    const cause = (error as Error).cause;
    fail(`Payments service not reachable at ${target}: ${cause instanceof Error ? cause.message : (error as Error).message}`);
  }
  process.stdout.write(`POST ${target} -> ${answer.status} ${JSON.stringify(answer.body)}\n`);
  if (answer.status < 200 || answer.status > 299) fail(`The payments service refused event ${event.id}`);
  process.stdout.write(`order ${orderId}: payment ${paymentId} sent (event ${event.id})\n`);
}

main().catch((error: unknown) => fail(`pay failed: ${(error as Error).message}`));
