import { workflowInfo } from '@temporalio/workflow';
import type { CarriedOrder, OrderWorkflowInput } from '../orders/workflow-api';

/** Messages one run handles before it continues as new, when the input does not say. */
const DEFAULT_MESSAGES_PER_RUN = 1_000;

/**
 * A long-lived order (PAID, never delivered) keeps its history short: after enough messages, or
 * when Temporal suggests it, the run continues as new.
 */
export function runIsLong(handled: number, input: OrderWorkflowInput): boolean {
  return handled >= (input.messagesPerRun ?? DEFAULT_MESSAGES_PER_RUN) || workflowInfo().continueAsNewSuggested;
}

/** The next run's input: the order as this run leaves it, nothing to place or resume. */
export function nextRunInput(input: OrderWorkflowInput, carried: CarriedOrder): OrderWorkflowInput {
  return { ...input, items: [], resume: undefined, placementDeadline: undefined, carried };
}
