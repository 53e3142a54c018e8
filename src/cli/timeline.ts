import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { REJECTED_ORDER_STATUS } from '../orders/workflow-api';

/**
 * An order's timeline, read from its workflow history: the status changes (the OrderStatus search
 * attribute the workflow upserts with each one), the checkout session, payments as they arrive and
 * the workflow's end. Only what Temporal itself writes in plain JSON is read (search attributes,
 * local activity markers, signal names), so it works with payload encryption on.
 */

export interface TimelineEntry {
  at: string;
  event: string;
  detail?: string;
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

const STATUS_EVENTS: Record<string, string> = {
  [REJECTED_ORDER_STATUS]: 'rejected: placement stored nothing',
  PENDING: 'pending',
  PAID: 'paid',
  DELIVERED: 'delivered',
  CANCELLED: 'cancelled',
};

/** Local activities (recorded as markers) worth a line when they succeed, by activity type. */
const ACTIVITY_EVENTS: Record<string, string> = {
  placeOrder: 'placed',
  openCheckout: 'checkout session opened',
  expirePaymentSession: 'checkout session expired',
  requestRefund: 'refund requested',
};

function decode(payload: Payload | null | undefined): unknown {
  if (payload == null) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload);
  } catch {
    // Encrypted or binary: not for the timeline.
    return undefined;
  }
}

function markerActivityType(event: HistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker == null || marker.markerName !== 'core_local_activity') return undefined;
  const data = decode(marker.details?.data?.payloads?.[0]) as { activity_type?: unknown } | undefined;
  return typeof data?.activity_type === 'string' ? data.activity_type : undefined;
}

function closing(event: HistoryEvent): TimelineEntry['event'] | undefined {
  if (event.workflowExecutionCompletedEventAttributes != null) return 'workflow closed';
  if (event.workflowExecutionTerminatedEventAttributes != null) return 'workflow terminated';
  if (event.workflowExecutionFailedEventAttributes != null) return 'workflow failed';
  if (event.workflowExecutionTimedOutEventAttributes != null) return 'workflow timed out';
  if (event.workflowExecutionContinuedAsNewEventAttributes != null) return 'workflow continued as new';
  return undefined;
}

/** ISO time of an event; `seconds` is a Long from the server and a number or string from JSON histories. */
function eventTime(event: HistoryEvent): string {
  if (event.eventTime == null) return '';
  const { seconds, nanos } = event.eventTime;
  return new Date(Number(String(seconds ?? 0)) * 1000 + Math.floor((nanos ?? 0) / 1e6)).toISOString();
}

export function orderTimeline(history: History): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  let lastStatus: string | undefined;
  /**
   * A status the workflow was started with or upserted, once per change. A new order starts as
   * PENDING while it is being placed: "placing" until its placement step says it is placed.
   */
  const statusChange = (at: string, fields: Record<string, Payload> | null | undefined, atStart = false): void => {
    const status = decode(fields?.OrderStatus);
    if (typeof status === 'string' && status !== lastStatus && STATUS_EVENTS[status] !== undefined) {
      entries.push({ at, event: atStart && status === 'PENDING' ? 'placing' : STATUS_EVENTS[status] });
      lastStatus = status;
    }
  };
  for (const event of history.events ?? []) {
    const at = eventTime(event);
    const started = event.workflowExecutionStartedEventAttributes;
    if (started != null) {
      entries.push({ at, event: 'workflow started', detail: started.workflowType?.name ?? undefined });
      statusChange(at, started.searchAttributes?.indexedFields, true);
      continue;
    }
    const upsert = event.upsertWorkflowSearchAttributesEventAttributes;
    if (upsert != null) {
      statusChange(at, upsert.searchAttributes?.indexedFields);
      continue;
    }
    const signal = event.workflowExecutionSignaledEventAttributes;
    if (signal != null) {
      if (signal.signalName === 'paymentSucceeded') {
        const payment = decode(signal.input?.payloads?.[0]) as { stripePaymentId?: unknown } | undefined;
        const paymentId = typeof payment?.stripePaymentId === 'string' ? payment.stripePaymentId : undefined;
        entries.push({ at, event: 'payment received', ...(paymentId !== undefined ? { detail: paymentId } : {}) });
      }
      if (signal.signalName === 'paymentWindowEnded') entries.push({ at, event: 'payment window end signalled' });
      continue;
    }
    const activity = markerActivityType(event);
    if (activity !== undefined) {
      const succeeded = event.markerRecordedEventAttributes?.failure == null;
      if (succeeded && ACTIVITY_EVENTS[activity] !== undefined) entries.push({ at, event: ACTIVITY_EVENTS[activity] });
      continue;
    }
    const closed = closing(event);
    if (closed !== undefined) entries.push({ at, event: closed });
  }
  return entries;
}
