import type { Client, WorkflowHandle } from '@temporalio/client';
import { countBillableActions, eventTypeName, type BillableActions } from './billable-actions';
import { round } from './stats';

/**
 * What a paid order costs Temporal, read from the histories of a sample of orders: events, workflow
 * tasks (WorkflowTaskCompleted) and activities (ActivityTaskScheduled, plus local activities, which
 * appear as MarkerRecorded events named `core_local_activity`); Temporal Cloud's billable actions
 * (billable-actions.ts); and the work still to come when the history was read. An order that
 * continued as new is read back to its first run: every run's events and actions are its own.
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
  /** Workflow runs per order (more than 1 when orders continue as new). */
  runsPerOrder: number | null;
  /** Temporal Cloud billable actions per order, as far as histories show them (billable-actions.ts). */
  billableActionsPerOrder: number | null;
  /** The same by kind (an event type, or ACTIVITY_RETRIES / LOCAL_ACTIVITY_RETRIES / WORKFLOW_RESET). */
  billableActionsByKindPerOrder: Record<string, number>;
  /** Events per order that look billable and are not: `TemporalChangeVersion`-only upserts, markers sharing a workflow task. */
  exemptPerOrder: { changeVersionUpserts: number; markersSharingATask: number } | null;
  /**
   * Deferred work the bench's window misses: timers started and neither fired nor cancelled when the
   * history was read (each will cost a workflow task when it fires), per order.
   */
  pendingTimersPerOrder: number | null;
  /** Sampled orders still open when read: not an action, but Active Storage until they close, then a retention delete. */
  openWorkflows: number;
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** Runs read back per order at most (continue-as-new chains). */
const MAX_RUNS = 50;

export async function historyStats(client: Client, workflowIds: readonly string[]): Promise<HistoryStats> {
  let events = 0;
  let workflowTasks = 0;
  let activities = 0;
  let localActivities = 0;
  let runs = 0;
  let actions = 0;
  let pendingTimers = 0;
  let openWorkflows = 0;
  let sampled = 0;
  let failed = 0;
  const byType: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  const exempt = { changeVersionUpserts: 0, markersSharingATask: 0 };
  for (const workflowId of workflowIds) {
    // Latest run first, then the run each one continued.
    const chain: Array<{ history: History; actions: BillableActions }> = [];
    try {
      let runId: string | undefined;
      do {
        const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
        const counted = countBillableActions(history.events ?? []);
        chain.push({ history, actions: counted });
        runId = counted.continuedFromRunId ?? undefined;
      } while (runId !== undefined && chain.length < MAX_RUNS);
    } catch {
      failed += 1;
      continue;
    }
    sampled += 1;
    runs += chain.length;
    const latest = chain[0]?.actions;
    if (latest?.open) openWorkflows += 1;
    pendingTimers += latest?.pendingTimers ?? 0;
    for (const run of chain) {
      actions += run.actions.total;
      for (const [kind, count] of Object.entries(run.actions.byKind)) byKind[kind] = (byKind[kind] ?? 0) + count;
      exempt.changeVersionUpserts += run.actions.exempt.changeVersionUpserts;
      exempt.markersSharingATask += run.actions.exempt.markersSharingATask;
      for (const event of run.history.events ?? []) {
        events += 1;
        const name = eventTypeName(event.eventType);
        byType[name] = (byType[name] ?? 0) + 1;
        if (name === 'WORKFLOW_TASK_COMPLETED') workflowTasks += 1;
        if (name === 'ACTIVITY_TASK_SCHEDULED') activities += 1;
        if (name === 'MARKER_RECORDED' && event.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
          activities += 1;
          localActivities += 1;
        }
      }
    }
  }
  const mean = (total: number): number | null => (sampled === 0 ? null : round(total / sampled, 2));
  const means = (counts: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(counts).map(([name, count]) => [name, mean(count) as number]));
  return {
    sampled,
    failed,
    eventsPerOrder: mean(events),
    workflowTasksPerOrder: mean(workflowTasks),
    activitiesPerOrder: mean(activities),
    localActivitiesPerOrder: mean(localActivities),
    eventTypesPerOrder: means(byType),
    runsPerOrder: mean(runs),
    billableActionsPerOrder: mean(actions),
    billableActionsByKindPerOrder: means(byKind),
    exemptPerOrder:
      sampled === 0
        ? null
        : {
            changeVersionUpserts: mean(exempt.changeVersionUpserts) as number,
            markersSharingATask: mean(exempt.markersSharingATask) as number,
          },
    pendingTimersPerOrder: mean(pendingTimers),
    openWorkflows,
  };
}

/** Up to `count` items spread evenly over `items`. */
export function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const step = items.length / count;
  return Array.from({ length: count }, (_unused, index) => items[Math.floor(index * step)] as T);
}
