import type { ProcessTrees, Sample } from './proc-stats';

/** Reads every process tree once a second for the whole run: peak RSS, and whatever listens. */
export class Sampler {
  readonly peakRssBytes: Record<string, number> = {};
  private readonly listeners = new Set<(sample: Sample) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly trees: ProcessTrees) {}

  start(everyMs = 1_000): void {
    this.timer = setInterval(() => this.take(), everyMs);
    this.timer.unref();
  }

  take(): Sample {
    const sample = this.trees.sample();
    for (const [name, reading] of Object.entries(sample)) {
      this.peakRssBytes[name] = Math.max(this.peakRssBytes[name] ?? 0, reading.rssBytes);
    }
    for (const listener of this.listeners) listener(sample);
    return sample;
  }

  listen(listener: (sample: Sample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
