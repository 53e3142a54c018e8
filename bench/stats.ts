/** Latency summaries: nearest-rank percentiles over every recorded sample, in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export function summarize(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, mean: null, p50: null, p95: null, p99: null, max: null };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number =>
    round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    mean: round(sum / sorted.length),
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: round(sorted[sorted.length - 1] as number),
  };
}

/** `list` starting at its `by`-th element (modulo its length), the ones before it moved to the end. */
function rotated<T>(list: readonly T[], by: number): T[] {
  const start = list.length === 0 ? 0 : by % list.length;
  return [...list.slice(start), ...list.slice(0, start)];
}

/**
 * The order of `list` in alternation `alternation` (from 1): turned one further every second
 * alternation and reversed in every even one, so that no item always runs right after the same one.
 */
export function alternationOrder<T>(list: readonly T[], alternation: number): T[] {
  const index = alternation - 1;
  const turned = rotated(list, Math.floor(index / 2));
  return index % 2 === 1 ? turned.reverse() : turned;
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Counts by kind: `{ '503': 2, timeout: 1 }`. */
export class ErrorTally {
  readonly counts: Record<string, number> = {};

  add(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  total(): number {
    return Object.values(this.counts).reduce((sum, count) => sum + count, 0);
  }
}
