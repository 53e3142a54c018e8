import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { createPaymentActivities } from '../src/activities/payments';
import { parseConfig } from '../src/config';
import { connectNats } from '../src/nats/connection';
import { encodeJson } from '../src/nats/nest-transport';

/**
 * `identifyPayments` decides whether a "second" payment is refunded while the order stays PAID.
 * A payments service that is momentarily away (restarting: no responders, or a timeout) must not
 * count as "not the same payment": the activity fails, retryably, and the workflow's durable retry
 * asks again until it answers. Only a deployment that turned the subject off (empty), or a peer's
 * 4xx, answers with what is known locally.
 */

const config = parseConfig(process.env);
let nats: NatsConnection;
const subscriptions: Subscription[] = [];

beforeAll(async () => {
  nats = await connectNats(config.nats, 'identify-payments-test');
});

afterAll(async () => {
  subscriptions.forEach((sub) => sub.unsubscribe());
  await nats?.close();
});

const activitiesFor = (identifyPaymentsSubject: string | undefined) =>
  createPaymentActivities({
    nats: nats,
    createPaymentSessionSubject: config.subjects.createPaymentSession,
    expirePaymentSessionSubject: config.subjects.expirePaymentSession,
    identifyPaymentsSubject,
    requestTimeoutMs: 500,
  });

/** A payments service on `subject` answering each request with `reply` (or not at all). */
async function servePayments(subject: string, reply: ((id: string) => unknown) | null): Promise<void> {
  const sub = nats.subscribe(subject, {
    callback: (_error, msg) => {
      if (reply === null) return;
      const { id } = JSON.parse(Buffer.from(msg.data).toString('utf8')) as { id: string };
      msg.respond(encodeJson(reply(id)));
    },
  });
  subscriptions.push(sub);
  await nats.flush();
}

const ids = ['ch_restart', 'pi_restart'];
const uniqueSubject = () => `identify.payments.test-${randomUUID().slice(0, 8)}`;

async function retryableFailure(call: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await call.then(
    (answer) => new Error(`answered ${JSON.stringify(answer)} where a retryable failure was expected`),
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect((error as ApplicationFailure).nonRetryable).toBe(false);
  return error as ApplicationFailure;
}

it('fails retryably while nobody answers identify.payments, and answers once the payments service is back', async () => {
  const subject = uniqueSubject();
  const activities = activitiesFor(subject);
  const failure = await retryableFailure(activities.identifyPayments(ids));
  expect(failure.type).toBe('ServiceUnavailable');
  expect(failure.message).toContain(subject);

  await servePayments(subject, (id) => ({
    id,
    response: { paymentIntents: { ch_restart: 'pi_restart', pi_restart: 'pi_restart' } },
    isDisposed: true,
  }));
  await expect(activities.identifyPayments(ids)).resolves.toEqual({
    ch_restart: 'pi_restart',
    pi_restart: 'pi_restart',
  });
});

it('fails retryably when the payments service does not answer in time', async () => {
  const subject = uniqueSubject();
  await servePayments(subject, null);
  const failure = await retryableFailure(activitiesFor(subject).identifyPayments(ids));
  expect(failure.message).toMatch(/No answer on .* within 500 ms/);
});

it('answers what is known locally when the payments service refuses the ids (4xx)', async () => {
  const subject = uniqueSubject();
  await servePayments(subject, (id) => ({ id, err: { status: 400, message: 'unknown ids' }, isDisposed: true }));
  await expect(activitiesFor(subject).identifyPayments(ids)).resolves.toEqual({
    ch_restart: null,
    pi_restart: 'pi_restart',
  });
});

it('answers what is known locally, asking nobody, when PAYMENTS_IDENTIFY_SUBJECT is turned off (empty)', async () => {
  const off = parseConfig({ ...process.env, PAYMENTS_IDENTIFY_SUBJECT: '' });
  expect(off.subjects.identifyPayments).toBeUndefined();
  expect(parseConfig({ ...process.env, PAYMENTS_IDENTIFY_SUBJECT: undefined }).subjects.identifyPayments).toBe(
    'identify.payments',
  );
  await expect(activitiesFor(off.subjects.identifyPayments).identifyPayments(ids)).resolves.toEqual({
    ch_restart: null,
    pi_restart: 'pi_restart',
  });
});
