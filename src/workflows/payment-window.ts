import type { CarriedOrder, OrderWorkflowInput } from '../orders/workflow-api';
import type { OrderStatus } from '../orders/types';

/**
 * The time a PENDING order has to be paid. No timer runs for it: the gateway signals the workflow
 * once the window's end (kept with the order's checkout) has passed on the database's clock, and the
 * window ends when the workflow's own clock agrees. When it ends the checkout is asked to close: if
 * the customer completed it meanwhile, the order waits for that payment instead of cancelling.
 */
export class PaymentWindow {
  private constructor(
    /** Epoch ms (workflow time). */
    readonly endsAt: number,
    /** The checkout was found complete: the window no longer ends (its payment is awaited). */
    private awaitingCheckout: boolean,
  ) {}

  /** A new order's window, open for `lengthMs` from now. */
  static opening(lengthMs: number): PaymentWindow {
    return new PaymentWindow(Date.now() + lengthMs, false);
  }

  /** The window where the previous run of the order's workflow left it. */
  static carried(carried: CarriedOrder): PaymentWindow {
    return new PaymentWindow(carried.windowEndsAt, carried.awaitingCompletedCheckout);
  }

  /** A closed order's window as the database kept it: null when it no longer ends. */
  static resumed(endsAt: number | null): PaymentWindow {
    return endsAt === null ? new PaymentWindow(Number.POSITIVE_INFINITY, true) : new PaymentWindow(endsAt, false);
  }

  /** True once the window's end has passed on the workflow's clock (never while a checkout's payment is awaited). */
  get hasEnded(): boolean {
    return !this.awaitingCheckout && Date.now() >= this.endsAt;
  }

  /**
   * The customer completed the checkout: the money was taken and its event survives any outage, so
   * the order waits for it however late it comes (an operator can still cancel, which refunds it).
   */
  awaitCompletedCheckout(): void {
    this.awaitingCheckout = true;
  }

  carry(): Pick<CarriedOrder, 'windowEndsAt' | 'awaitingCompletedCheckout'> {
    return { windowEndsAt: this.endsAt, awaitingCompletedCheckout: this.awaitingCheckout };
  }
}

/**
 * How long an order in `status` listens for its next message: DELIVERED and CANCELLED for late
 * payments, PENDING and PAID for ever (undefined; a PENDING order's window ends by a message).
 */
export function listeningTimeMs(status: OrderStatus, input: OrderWorkflowInput): number | undefined {
  return status === 'DELIVERED' || status === 'CANCELLED' ? input.latePaymentGraceMs : undefined;
}
