/** One setting of a JetStream stream or consumer that is not what the configuration wants. */
export interface Difference {
  field: string;
  found: unknown;
  wanted: unknown;
  /** False where NATS refuses to change the field of an existing stream or consumer. */
  updatable: boolean;
  /** The environment variable the wanted value comes from, if any. */
  variable?: string;
}

/** `num_replicas is 1, wanted 3 (PAYMENT_STREAM_REPLICAS)`. */
export function describeChange(difference: Difference): string {
  const from = difference.variable === undefined ? '' : ` (${difference.variable})`;
  return `${difference.field} is ${JSON.stringify(difference.found)}, wanted ${JSON.stringify(difference.wanted)}${from}`;
}
