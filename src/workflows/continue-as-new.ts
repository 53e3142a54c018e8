import { workflowInfo } from '@temporalio/workflow';
import type { CarriedOrder, OrderWorkflowInput } from '../orders/workflow-api';

/**
 * A long-lived order (PAID, never delivered) keeps its history short: after enough messages, or
 * when Temporal suggests it, the run continues as new.
 */
export function runIsLong(handled: number, input: OrderWorkflowInput): boolean {
  return handled >= input.messagesPerRun || workflowInfo().continueAsNewSuggested;
}

/** The next run's input: the order as this run leaves it, nothing to place or resume. */
export function nextRunInput(input: OrderWorkflowInput, carried: CarriedOrder): OrderWorkflowInput {
  return { ...input, start: { kind: 'continue', carried } };
}
