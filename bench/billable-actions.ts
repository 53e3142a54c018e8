/**
 * Temporal Cloud's billable actions, counted from one workflow run's event history as its published
 * list says (https://docs.temporal.io/cloud/actions). Pure: no I/O, no SDK at run time.
 *
 * What a history shows, and what each costs:
 *
 * - WORKFLOW_EXECUTION_STARTED: 1 (every run: a run started by continue-as-new counts its own).
 * - TIMER_STARTED: 1 each (`condition(fn, timeout)` and `sleep` start one).
 * - UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 1 each, however many keys; an upsert whose only key is
 *   `TemporalChangeVersion` (the one `patched()` writes) is exempt. Search attributes given at start
 *   are free: they are part of the start.
 * - WORKFLOW_EXECUTION_SIGNALED: 1. SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: 1 (the Cloud UI
 *   shows it on the signalled workflow's SIGNALED event: histories of both ends read together count
 *   it twice).
 * - WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 1. An update its validator rejects is billed too but never
 *   reaches the history.
 * - ACTIVITY_TASK_SCHEDULED: 1, and each retry: ACTIVITY_TASK_STARTED's `attempt` − 1.
 * - MARKER_RECORDED (local activities, patch markers, side effects): all the markers one workflow
 *   task records are ONE action, grouped by `workflowTaskCompletedEventId`.
 * - Local activity retries: `meteringMetadata.nonfirstLocalActivityExecutionAttempts` of
 *   WORKFLOW_TASK_COMPLETED, 1 each.
 * - START_CHILD_WORKFLOW_EXECUTION_INITIATED: 2. WORKFLOW_EXECUTION_OPTIONS_UPDATED: 1.
 * - A reset (WORKFLOW_TASK_FAILED with cause RESET_WORKFLOW): 1. NEXUS_OPERATION_SCHEDULED and
 *   NEXUS_OPERATION_CANCEL_REQUESTED: 1 each.
 *
 * What no history shows: {@link NOT_IN_HISTORY}.
 *
 * @example
 * ```ts
 * const { total, byKind } = countBillableActions([
 *   { eventId: 1, eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED' },
 *   { eventId: 4, eventType: 7 }, // WORKFLOW_TASK_COMPLETED
 *   { eventId: 5, eventType: 'MARKER_RECORDED', markerRecordedEventAttributes: { workflowTaskCompletedEventId: 4 } },
 *   { eventId: 6, eventType: 'MARKER_RECORDED', markerRecordedEventAttributes: { workflowTaskCompletedEventId: 4 } },
 *   {
 *     eventId: 7,
 *     eventType: 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
 *     upsertWorkflowSearchAttributesEventAttributes: { searchAttributes: { indexedFields: { TemporalChangeVersion: {} } } },
 *   },
 *   { eventId: 8, eventType: 'TimerStarted', timerStartedEventAttributes: { timerId: '1' } },
 * ]);
 * // total === 3: the start, one for both markers of workflow task 4, the timer (the upsert is exempt);
 * // byKind === { WORKFLOW_EXECUTION_STARTED: 1, MARKER_RECORDED: 1, TIMER_STARTED: 1 }
 * ```
 */

/** A protobuf int64 as the SDK gives it (a Long), or as JSON histories give it (a number or a string). */
export type Int64Like = number | string | { toString(): string };

/**
 * The part of a history event (`temporal.api.history.v1.IHistoryEvent`, as `fetchHistory()`
 * returns it, or its JSON form) that the counting reads. An IHistoryEvent is one of these.
 */
export interface BillableHistoryEvent {
  eventId?: Int64Like | null;
  /** The EventType enum's number, or its name: `EVENT_TYPE_TIMER_STARTED`, `TIMER_STARTED` or `TimerStarted`. */
  eventType?: number | string | null;
  workflowExecutionStartedEventAttributes?: { continuedExecutionRunId?: string | null } | null;
  workflowTaskCompletedEventAttributes?: {
    meteringMetadata?: { nonfirstLocalActivityExecutionAttempts?: number | null } | null;
  } | null;
  workflowTaskFailedEventAttributes?: { cause?: number | string | null } | null;
  activityTaskStartedEventAttributes?: { attempt?: number | null } | null;
  markerRecordedEventAttributes?: {
    markerName?: string | null;
    workflowTaskCompletedEventId?: Int64Like | null;
  } | null;
  upsertWorkflowSearchAttributesEventAttributes?: {
    searchAttributes?: { indexedFields?: Record<string, unknown> | null } | null;
  } | null;
  timerStartedEventAttributes?: { timerId?: string | null } | null;
  timerFiredEventAttributes?: { timerId?: string | null } | null;
  timerCanceledEventAttributes?: { timerId?: string | null } | null;
}

/** What an action is counted from: the event type's name, or one of the derived kinds. */
export type BillableKind =
  | 'WORKFLOW_EXECUTION_STARTED'
  | 'TIMER_STARTED'
  | 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES'
  | 'WORKFLOW_EXECUTION_SIGNALED'
  | 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED'
  | 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED'
  | 'ACTIVITY_TASK_SCHEDULED'
  | 'ACTIVITY_RETRIES'
  | 'MARKER_RECORDED'
  | 'LOCAL_ACTIVITY_RETRIES'
  | 'START_CHILD_WORKFLOW_EXECUTION_INITIATED'
  | 'WORKFLOW_EXECUTION_OPTIONS_UPDATED'
  | 'WORKFLOW_RESET'
  | 'NEXUS_OPERATION_SCHEDULED'
  | 'NEXUS_OPERATION_CANCEL_REQUESTED';

export interface BillableActions {
  /** Billable actions of the run. */
  total: number;
  /** The same by kind; kinds with none are left out. */
  byKind: Partial<Record<BillableKind, number>>;
  /** Events that look billable but are not: upserts of `TemporalChangeVersion` alone, markers after the first of their workflow task. */
  exempt: { changeVersionUpserts: number; markersSharingATask: number };
  /** Timers started and neither fired nor cancelled: work (and, when they fire, actions) after the history was read. */
  pendingTimers: number;
  /** False once the run has closed (completed, failed, timed out, cancelled, terminated, continued as new). */
  open: boolean;
  /** The run this one continued (`continuedExecutionRunId` of its start), if any: its actions are billed too. */
  continuedFromRunId: string | null;
  events: number;
}

/** Billable operations that never appear in a history: the bench cannot count them. */
export const NOT_IN_HISTORY: readonly string[] = [
  'queries (every one, including the Web UI’s stack-trace view; `__temporal_workflow_metadata` excepted)',
  'activity heartbeats that reach the server',
  'updates rejected by their validator (billed, never written to the history)',
  'workflow task heartbeats of long local activities',
  'history export (1 per exported workflow)',
  'schedules (2 per scheduled start, plus the start) and schedule create/update/patch/delete',
  'signal-with-start (billed as one action where a history that it started shows a start and a signal)',
  'de-duplicated starts and updates (not billed, not in the history either)',
];

// temporal/api/enums/v1/event_type.proto: stable wire values.
const EVENT_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'WORKFLOW_EXECUTION_STARTED'],
  [2, 'WORKFLOW_EXECUTION_COMPLETED'],
  [3, 'WORKFLOW_EXECUTION_FAILED'],
  [4, 'WORKFLOW_EXECUTION_TIMED_OUT'],
  [5, 'WORKFLOW_TASK_SCHEDULED'],
  [6, 'WORKFLOW_TASK_STARTED'],
  [7, 'WORKFLOW_TASK_COMPLETED'],
  [8, 'WORKFLOW_TASK_TIMED_OUT'],
  [9, 'WORKFLOW_TASK_FAILED'],
  [10, 'ACTIVITY_TASK_SCHEDULED'],
  [11, 'ACTIVITY_TASK_STARTED'],
  [12, 'ACTIVITY_TASK_COMPLETED'],
  [13, 'ACTIVITY_TASK_FAILED'],
  [14, 'ACTIVITY_TASK_TIMED_OUT'],
  [15, 'ACTIVITY_TASK_CANCEL_REQUESTED'],
  [16, 'ACTIVITY_TASK_CANCELED'],
  [17, 'TIMER_STARTED'],
  [18, 'TIMER_FIRED'],
  [19, 'TIMER_CANCELED'],
  [20, 'WORKFLOW_EXECUTION_CANCEL_REQUESTED'],
  [21, 'WORKFLOW_EXECUTION_CANCELED'],
  [22, 'REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED'],
  [23, 'REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED'],
  [24, 'EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED'],
  [25, 'MARKER_RECORDED'],
  [26, 'WORKFLOW_EXECUTION_SIGNALED'],
  [27, 'WORKFLOW_EXECUTION_TERMINATED'],
  [28, 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW'],
  [29, 'START_CHILD_WORKFLOW_EXECUTION_INITIATED'],
  [30, 'START_CHILD_WORKFLOW_EXECUTION_FAILED'],
  [31, 'CHILD_WORKFLOW_EXECUTION_STARTED'],
  [32, 'CHILD_WORKFLOW_EXECUTION_COMPLETED'],
  [33, 'CHILD_WORKFLOW_EXECUTION_FAILED'],
  [34, 'CHILD_WORKFLOW_EXECUTION_CANCELED'],
  [35, 'CHILD_WORKFLOW_EXECUTION_TIMED_OUT'],
  [36, 'CHILD_WORKFLOW_EXECUTION_TERMINATED'],
  [37, 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED'],
  [38, 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED'],
  [39, 'EXTERNAL_WORKFLOW_EXECUTION_SIGNALED'],
  [40, 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES'],
  [41, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED'],
  [42, 'WORKFLOW_EXECUTION_UPDATE_REJECTED'],
  [43, 'WORKFLOW_EXECUTION_UPDATE_COMPLETED'],
  [44, 'WORKFLOW_PROPERTIES_MODIFIED_EXTERNALLY'],
  [45, 'ACTIVITY_PROPERTIES_MODIFIED_EXTERNALLY'],
  [46, 'WORKFLOW_PROPERTIES_MODIFIED'],
  [47, 'WORKFLOW_EXECUTION_UPDATE_ADMITTED'],
  [48, 'NEXUS_OPERATION_SCHEDULED'],
  [49, 'NEXUS_OPERATION_STARTED'],
  [50, 'NEXUS_OPERATION_COMPLETED'],
  [51, 'NEXUS_OPERATION_FAILED'],
  [52, 'NEXUS_OPERATION_CANCELED'],
  [53, 'NEXUS_OPERATION_TIMED_OUT'],
  [54, 'NEXUS_OPERATION_CANCEL_REQUESTED'],
  [55, 'WORKFLOW_EXECUTION_OPTIONS_UPDATED'],
  [56, 'NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED'],
  [57, 'NEXUS_OPERATION_CANCEL_REQUEST_FAILED'],
  [58, 'WORKFLOW_EXECUTION_PAUSED'],
  [59, 'WORKFLOW_EXECUTION_UNPAUSED'],
]);

// temporal/api/enums/v1/failed_cause.proto, WorkflowTaskFailedCause.
const RESET_WORKFLOW_CAUSE = 20;

/** Events billed one action each, as they are. */
const ONE_EACH: ReadonlySet<string> = new Set<BillableKind>([
  'WORKFLOW_EXECUTION_STARTED',
  'TIMER_STARTED',
  'WORKFLOW_EXECUTION_SIGNALED',
  'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED',
  'WORKFLOW_EXECUTION_UPDATE_ACCEPTED',
  'ACTIVITY_TASK_SCHEDULED',
  'WORKFLOW_EXECUTION_OPTIONS_UPDATED',
  'NEXUS_OPERATION_SCHEDULED',
  'NEXUS_OPERATION_CANCEL_REQUESTED',
]);

const CLOSING: ReadonlySet<string> = new Set([
  'WORKFLOW_EXECUTION_COMPLETED',
  'WORKFLOW_EXECUTION_FAILED',
  'WORKFLOW_EXECUTION_TIMED_OUT',
  'WORKFLOW_EXECUTION_CANCELED',
  'WORKFLOW_EXECUTION_TERMINATED',
  'WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
]);

/** The search attribute `patched()` upserts: exempt when it is the only key. */
export const CHANGE_VERSION_ATTRIBUTE = 'TemporalChangeVersion';

/**
 * An event type as its upper-case name without the prefix (`TIMER_STARTED`), from the enum's number,
 * its proto name (`EVENT_TYPE_TIMER_STARTED`), the name itself, or the camel-case form some JSON
 * exports use (`TimerStarted`, `EventTypeTimerStarted`). Unknown numbers become `EVENT_TYPE_<n>`.
 */
export function eventTypeName(eventType: number | string | null | undefined): string {
  return enumName(eventType, 'EVENT_TYPE_', EVENT_TYPE_NAMES);
}

/** Counts one run's billable actions. See the module's comment for the rules. */
export function countBillableActions(events: readonly BillableHistoryEvent[]): BillableActions {
  const byKind: Partial<Record<BillableKind, number>> = {};
  const add = (kind: BillableKind, count = 1): void => {
    if (count > 0) byKind[kind] = (byKind[kind] ?? 0) + count;
  };
  const exempt = { changeVersionUpserts: 0, markersSharingATask: 0 };
  const markerTasks = new Set<string>();
  const pendingTimers = new Set<string>();
  let lastTaskCompleted: string | null = null;
  let lastType = '';
  let continuedFromRunId: string | null = null;

  for (const event of events) {
    const type = eventTypeName(event.eventType);
    lastType = type;
    if (ONE_EACH.has(type)) add(type as BillableKind);
    switch (type) {
      case 'WORKFLOW_EXECUTION_STARTED':
        continuedFromRunId = event.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || null;
        break;
      case 'WORKFLOW_TASK_COMPLETED':
        lastTaskCompleted = int64Key(event.eventId);
        add(
          'LOCAL_ACTIVITY_RETRIES',
          Number(
            event.workflowTaskCompletedEventAttributes?.meteringMetadata?.nonfirstLocalActivityExecutionAttempts ?? 0,
          ),
        );
        break;
      case 'WORKFLOW_TASK_FAILED':
        if (
          enumName(event.workflowTaskFailedEventAttributes?.cause, 'WORKFLOW_TASK_FAILED_CAUSE_', CAUSE_NAMES) ===
          'RESET_WORKFLOW'
        )
          add('WORKFLOW_RESET');
        break;
      case 'ACTIVITY_TASK_STARTED':
        add('ACTIVITY_RETRIES', Math.max(0, Number(event.activityTaskStartedEventAttributes?.attempt ?? 1) - 1));
        break;
      case 'MARKER_RECORDED': {
        // Markers are written after the WORKFLOW_TASK_COMPLETED of the task that recorded them.
        const task = int64Key(event.markerRecordedEventAttributes?.workflowTaskCompletedEventId) ?? lastTaskCompleted;
        const key = task ?? `event-${int64Key(event.eventId) ?? markerTasks.size}`;
        if (markerTasks.has(key)) exempt.markersSharingATask += 1;
        else {
          markerTasks.add(key);
          add('MARKER_RECORDED');
        }
        break;
      }
      case 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES': {
        const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
        const keys = Object.keys(fields);
        if (keys.length === 1 && keys[0] === CHANGE_VERSION_ATTRIBUTE) exempt.changeVersionUpserts += 1;
        else add('UPSERT_WORKFLOW_SEARCH_ATTRIBUTES');
        break;
      }
      case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED':
        // The intent, durably recorded, and the attempt to start the child.
        add('START_CHILD_WORKFLOW_EXECUTION_INITIATED', 2);
        break;
      case 'TIMER_STARTED':
        pendingTimers.add(event.timerStartedEventAttributes?.timerId ?? `event-${int64Key(event.eventId)}`);
        break;
      case 'TIMER_FIRED':
        pendingTimers.delete(event.timerFiredEventAttributes?.timerId ?? '');
        break;
      case 'TIMER_CANCELED':
        pendingTimers.delete(event.timerCanceledEventAttributes?.timerId ?? '');
        break;
    }
  }
  const total = Object.values(byKind).reduce((sum, count) => sum + count, 0);
  return {
    total,
    byKind,
    exempt,
    pendingTimers: pendingTimers.size,
    open: events.length > 0 && !CLOSING.has(lastType),
    continuedFromRunId,
    events: events.length,
  };
}

const CAUSE_NAMES: ReadonlyMap<number, string> = new Map([[RESET_WORKFLOW_CAUSE, 'RESET_WORKFLOW']]);

function enumName(
  value: number | string | null | undefined,
  prefix: string,
  names: ReadonlyMap<number, string>,
): string {
  if (value === null || value === undefined) return 'UNSPECIFIED';
  if (typeof value === 'number' || /^\d+$/.test(value)) {
    const number = Number(value);
    return names.get(number) ?? `${prefix}${number}`;
  }
  // `TimerStarted` or `EventTypeTimerStarted` → `TIMER_STARTED`
  const upper = /[a-z]/.test(value) ? value.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase() : value;
  return upper.startsWith(prefix) ? upper.slice(prefix.length) : upper;
}

/** An int64 as a string key; null for an absent or zero id (protobuf's default). */
function int64Key(value: Int64Like | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  return text === '0' || text === '' ? null : text;
}
