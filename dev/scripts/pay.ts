import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../../src/config';
import {
  isAccepted,
  PaymentsUnreachableError,
  sendTestPayment,
  testPaymentRefusal,
  type TestPayment,
} from '../../src/cli/send-test-payment';

/**
 * `npm run pay -- <orderId> [--payments-url URL]`: completes an order's checkout offline by
 * sending the payments service a signed `checkout.session.completed`, exactly as Stripe would.
 */

const USAGE = 'usage: npm run pay -- <orderId> [--payments-url URL]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
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

  // Exit 2, as a usage error: nothing is sent (and production configuration is not even read).
  const refusal = testPaymentRefusal();
  if (refusal !== undefined) fail(`pay: ${refusal}`, 2);
  const config = loadConfigOrExit();
  let payment: TestPayment;
  try {
    payment = await sendTestPayment({
      orderId,
      paymentsUrl: parsed.values['payments-url'] ?? config.payments.publicUrl,
      webhookSecret: config.stripe.webhookSecret,
    });
  } catch (error) {
    if (error instanceof PaymentsUnreachableError) fail(error.message);
    throw error;
  }
  const { target, answer, eventId, paymentId } = payment;
  process.stdout.write(`POST ${target} -> ${answer.status} ${JSON.stringify(answer.body)}\n`);
  if (!isAccepted(payment)) fail(`The payments service refused event ${eventId}`);
  process.stdout.write(`order ${orderId}: payment ${paymentId} sent (event ${eventId})\n`);
}

main().catch((error: unknown) => fail(`pay failed: ${(error as Error).message}`));
