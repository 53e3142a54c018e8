import { ApplicationFailure, condition } from '@temporalio/workflow';
import type { OrderStatus, OrderWithItems, SignedPayment } from '../orders/types';

/** A message for a placed order: applied one at a time, in arrival order. */
export type Message =
  | { kind: 'payment'; payment: SignedPayment }
  | { kind: 'paymentWindowEnded' }
  | { kind: 'changeStatus'; status: OrderStatus; reply: Reply };

/** The answer to a status change, filled in when the workflow has applied it. */
interface Reply {
  settled: boolean;
  order?: OrderWithItems;
  failure?: ApplicationFailure;
}

/**
 * Every change to an order after it is stored waits here, so payments and status changes never
 * race: handlers only post, the workflow's main loop takes one message at a time.
 */
export class Inbox {
  private readonly messages: Message[] = [];
  /** Messages taken by this run (for continue-as-new). */
  handled = 0;

  get hasMail(): boolean {
    return this.messages.length > 0;
  }

  postPayment(payment: SignedPayment): void {
    this.messages.push({ kind: 'payment', payment });
  }

  postPaymentWindowEnded(): void {
    this.messages.push({ kind: 'paymentWindowEnded' });
  }

  /** Posts a status change and waits for its answer (the order, or the failure the caller gets). */
  async requestStatusChange(status: OrderStatus): Promise<OrderWithItems> {
    const reply: Reply = { settled: false };
    this.messages.push({ kind: 'changeStatus', status, reply });
    await condition(() => reply.settled);
    if (reply.failure) throw reply.failure;
    return reply.order as OrderWithItems;
  }

  /**
   * Waits for a message, for at most `timeoutMs` (for ever if undefined), or until `interrupt`
   * holds; false when no message came.
   */
  async waitForMail(timeoutMs: number | undefined, interrupt: () => boolean): Promise<boolean> {
    const woken = () => this.hasMail || interrupt();
    if (timeoutMs === undefined) await condition(woken);
    else await condition(woken, timeoutMs);
    return this.hasMail;
  }

  take(): Message {
    this.handled += 1;
    return this.messages.shift() as Message;
  }

  /** Answers every waiting status change with `failure` and drops the rest (the order was never placed). */
  refuseAll(failure: () => ApplicationFailure): void {
    for (const message of this.messages.splice(0)) {
      if (message.kind === 'changeStatus') answer(message, failure());
    }
  }
}

/** Settles a status change with the order after it, or with the failure the caller receives. */
export function answer(
  message: Extract<Message, { kind: 'changeStatus' }>,
  outcome: OrderWithItems | ApplicationFailure,
): void {
  if (outcome instanceof ApplicationFailure) message.reply.failure = outcome;
  else message.reply.order = outcome;
  message.reply.settled = true;
}
