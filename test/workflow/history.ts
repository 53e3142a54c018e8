import type { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';

/** What the workflow tests read from a workflow's history. */

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** When the event was written, epoch ms on the server's clock. */
export const eventTimeMs = (event: HistoryEvent): number => tsToMs(event.eventTime);

function markerJson(event: HistoryEvent, key: string): Record<string, unknown> | undefined {
  const payload = event.markerRecordedEventAttributes?.details?.[key]?.payloads?.[0];
  if (payload?.data == null) return undefined;
  return JSON.parse(Buffer.from(payload.data).toString('utf8')) as Record<string, unknown>;
}

/** The local activities a history records (one marker each): type, whether it failed, when it completed. */
export function localActivities(
  events: HistoryEvent[],
): Array<{ type: string; failed: boolean; completedAtMs: number }> {
  return events
    .filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity')
    .map((event) => {
      const data = markerJson(event, 'data') ?? {};
      const completed = data.complete_time as { seconds?: number; nanos?: number } | undefined;
      return {
        type: String(data.activity_type),
        failed: event.markerRecordedEventAttributes?.failure != null,
        completedAtMs:
          completed?.seconds !== undefined
            ? completed.seconds * 1000 + Math.floor((completed.nanos ?? 0) / 1e6)
            : eventTimeMs(event),
      };
    });
}

/** The patch ids a history records (`patched(id)` calls that took the new code). */
export function patchMarkers(events: HistoryEvent[]): string[] {
  return events
    .filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((event) => String(markerJson(event, 'patch-data')?.id));
}

/** The timers a history starts. */
export const timersStarted = (events: HistoryEvent[]): HistoryEvent[] =>
  events.filter((event) => event.timerStartedEventAttributes != null);

/** How long each timer the history starts runs, ms. */
export const timerDurationsMs = (events: HistoryEvent[]): number[] =>
  timersStarted(events).map((event) => tsToMs(event.timerStartedEventAttributes?.startToFireTimeout));

/** The identities of the workers that completed the history's workflow tasks, in order, each once. */
export function workflowTaskWorkers(events: HistoryEvent[]): string[] {
  const identities = events
    .map((event) => event.workflowTaskCompletedEventAttributes?.identity)
    .filter((identity): identity is string => typeof identity === 'string');
  return identities.filter((identity, index) => identities.indexOf(identity) === index);
}
