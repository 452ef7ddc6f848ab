/** Versions a learner process keeps in memory: enough for the staleness a handful of learners produce. */
export const WEIGHTS_RING = 16;

/**
 * A small ring of recent weight versions. Learners and aggregators mostly touch the newest few
 * versions; older ones (a very stale gradient's weights for dutta-joshi) fall back to the loader.
 * Concurrent requests for one version share one load.
 */
export class WeightsCache {
  private readonly entries = new Map<number, Promise<Float32Array>>();

  constructor(
    private readonly capacity: number,
    private readonly load: (version: number) => Promise<Float32Array>,
  ) {}

  get(version: number): Promise<Float32Array> {
    const cached = this.entries.get(version);
    if (cached) return cached;
    const loading = this.load(version);
    this.remember(version, loading);
    loading.catch(() => this.entries.delete(version));
    return loading;
  }

  /** Adds weights this process produced itself (the aggregator's w[v+1]). */
  put(version: number, weights: Float32Array): void {
    this.remember(version, Promise.resolve(weights));
  }

  private remember(version: number, weights: Promise<Float32Array>): void {
    this.entries.set(version, weights);
    while (this.entries.size > this.capacity) {
      const oldest = Math.min(...this.entries.keys());
      this.entries.delete(oldest);
    }
  }
}
