import type { Client, WorkflowHandle } from '@temporalio/client';
import { round } from './stats';

/**
 * What a paid order costs Temporal, read from the histories of a sample of orders: events, workflow
 * tasks (WorkflowTaskCompleted) and activities (ActivityTaskScheduled, plus local activities, which
 * appear as MarkerRecorded events named `core_local_activity`).
 */
export interface HistoryStats {
  sampled: number;
  failed: number;
  eventsPerOrder: number | null;
  workflowTasksPerOrder: number | null;
  activitiesPerOrder: number | null;
  localActivitiesPerOrder: number | null;
  /** Mean count of each event type per order, e.g. `ACTIVITY_TASK_SCHEDULED: 5`. */
  eventTypesPerOrder: Record<string, number>;
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

// Temporal API enum EventType (temporal/api/enums/v1/event_type.proto): stable wire values. Named
// here rather than imported from @temporalio/proto, which the project does not depend on directly.
const WORKFLOW_TASK_COMPLETED = 7;
const ACTIVITY_TASK_SCHEDULED = 10;
const MARKER_RECORDED = 25;
const TYPE_NAMES = new Map<number, string>([
  [1, 'WORKFLOW_EXECUTION_STARTED'],
  [2, 'WORKFLOW_EXECUTION_COMPLETED'],
  [3, 'WORKFLOW_EXECUTION_FAILED'],
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
  [17, 'TIMER_STARTED'],
  [18, 'TIMER_FIRED'],
  [19, 'TIMER_CANCELED'],
  [25, 'MARKER_RECORDED'],
  [26, 'WORKFLOW_EXECUTION_SIGNALED'],
  [40, 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES'],
  [41, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED'],
  [42, 'WORKFLOW_EXECUTION_UPDATE_REJECTED'],
  [43, 'WORKFLOW_EXECUTION_UPDATE_COMPLETED'],
  [46, 'WORKFLOW_PROPERTIES_MODIFIED'],
  [47, 'WORKFLOW_EXECUTION_UPDATE_ADMITTED'],
]);

export async function historyStats(client: Client, workflowIds: readonly string[]): Promise<HistoryStats> {
  let events = 0;
  let workflowTasks = 0;
  let activities = 0;
  let localActivities = 0;
  let sampled = 0;
  let failed = 0;
  const byType: Record<string, number> = {};
  for (const workflowId of workflowIds) {
    let history: History;
    try {
      history = await client.workflow.getHandle(workflowId).fetchHistory();
    } catch {
      failed += 1;
      continue;
    }
    sampled += 1;
    for (const event of history.events ?? []) {
      events += 1;
      const type = Number(event.eventType ?? 0);
      const name = TYPE_NAMES.get(type) ?? `EVENT_TYPE_${type}`;
      byType[name] = (byType[name] ?? 0) + 1;
      if (type === WORKFLOW_TASK_COMPLETED) workflowTasks += 1;
      if (type === ACTIVITY_TASK_SCHEDULED) activities += 1;
      if (type === MARKER_RECORDED && event.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
        activities += 1;
        localActivities += 1;
      }
    }
  }
  const mean = (total: number): number | null => (sampled === 0 ? null : round(total / sampled, 2));
  return {
    sampled,
    failed,
    eventsPerOrder: mean(events),
    workflowTasksPerOrder: mean(workflowTasks),
    activitiesPerOrder: mean(activities),
    localActivitiesPerOrder: mean(localActivities),
    eventTypesPerOrder: Object.fromEntries(
      Object.entries(byType).map(([name, count]) => [name, mean(count) as number]),
    ),
  };
}

/** Up to `count` items spread evenly over `items`. */
export function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const step = items.length / count;
  return Array.from({ length: count }, (_unused, index) => items[Math.floor(index * step)] as T);
}
