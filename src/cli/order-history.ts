import { isGrpcServiceError, type Client } from '@temporalio/client';
import { orderWorkflowId } from '../orders/workflow-api';
import { CliError, EXIT } from './errors';
import { orderTimeline, type TimelineEntry } from './timeline';

/** gRPC status NOT_FOUND: the workflow is unknown (never started, or removed after retention). */
const GRPC_NOT_FOUND = 5;

/** The order's timeline from its workflow's history; null when Temporal no longer has the workflow. */
export async function fetchOrderTimeline(client: Client, orderId: string): Promise<TimelineEntry[] | null> {
  const workflowId = orderWorkflowId(orderId);
  try {
    return orderTimeline(await client.workflow.getHandle(workflowId).fetchHistory());
  } catch (error) {
    if (isGrpcServiceError(error) && Number(error.code) === GRPC_NOT_FOUND) return null;
    throw new CliError(
      EXIT.unreachable,
      `cannot read the history of ${workflowId} from Temporal: ${(error as Error).message}`,
    );
  }
}
