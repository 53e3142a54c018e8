import { readFileSync } from 'node:fs';
import path from 'node:path';
import { countBillableActions, type BillableHistoryEvent } from '../../bench/billable-actions';

const history = (file: string): BillableHistoryEvent[] =>
  (
    JSON.parse(readFileSync(path.resolve(__dirname, '../histories/1.0', file), 'utf8')) as {
      events: BillableHistoryEvent[];
    }
  ).events;

describe("billable actions, counted from a history by Temporal Cloud's list", () => {
  it('counts a paid and delivered 1.0 order: no patch marker, no payment-window timer', () => {
    const counted = countBillableActions(history('paid-then-delivered.json'));
    expect(counted.byKind).toEqual({
      WORKFLOW_EXECUTION_STARTED: 1,
      // placeOrder (with the start) and changeStatus DELIVERED
      WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 2,
      WORKFLOW_EXECUTION_SIGNALED: 1,
      // one per workflow task that ran local activities: placement, payment, delivery
      MARKER_RECORDED: 3,
      // PAID, DELIVERED (PENDING is given at start)
      UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 2,
      // the late-payment grace after delivery, which fired
      TIMER_STARTED: 1,
    });
    expect(counted.total).toBe(10);
    expect(counted).toMatchObject({ pendingTimers: 0, open: false });
  });

  it('counts all markers of one workflow task as one action, and exempts a TemporalChangeVersion upsert', () => {
    const counted = countBillableActions([
      { eventId: 1, eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED' },
      { eventId: 4, eventType: 7 },
      { eventId: 5, eventType: 'MARKER_RECORDED', markerRecordedEventAttributes: { workflowTaskCompletedEventId: 4 } },
      { eventId: 6, eventType: 'MARKER_RECORDED', markerRecordedEventAttributes: { workflowTaskCompletedEventId: 4 } },
      {
        eventId: 7,
        eventType: 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
        upsertWorkflowSearchAttributesEventAttributes: {
          searchAttributes: { indexedFields: { TemporalChangeVersion: {} } },
        },
      },
      { eventId: 8, eventType: 'TimerStarted', timerStartedEventAttributes: { timerId: '1' } },
    ]);
    expect(counted.total).toBe(3);
    expect(counted.byKind).toEqual({ WORKFLOW_EXECUTION_STARTED: 1, MARKER_RECORDED: 1, TIMER_STARTED: 1 });
    expect(counted.exempt).toEqual({ changeVersionUpserts: 1, markersSharingATask: 1 });
    expect(counted.pendingTimers).toBe(1);
  });

  it('counts each retry of a remote activity, and a timer cancelled later as started', () => {
    const counted = countBillableActions([
      { eventId: 1, eventType: 1 },
      { eventId: 5, eventType: 'ACTIVITY_TASK_SCHEDULED' },
      { eventId: 6, eventType: 'ACTIVITY_TASK_STARTED', activityTaskStartedEventAttributes: { attempt: 3 } },
      { eventId: 9, eventType: 'TIMER_STARTED', timerStartedEventAttributes: { timerId: '7' } },
      { eventId: 12, eventType: 'TIMER_CANCELED', timerCanceledEventAttributes: { timerId: '7' } },
    ]);
    expect(counted.total).toBe(1 + 3 + 1);
    expect(counted.pendingTimers).toBe(0);
  });
});
