/**
 * The parameter-server update w[v+1] = w[v] - (1/K) * sum_i eta_i * g_i, shared by the
 * aggregator and the audit replay. Gradients are summed in pending order in float64 and
 * rounded once, so a redo (takeover) or a replay produces the same bytes.
 */
export function applyUpdate(
  weights: Float32Array,
  gradients: readonly Float32Array[],
  etas: readonly number[],
): Float32Array {
  if (gradients.length === 0 || gradients.length !== etas.length) {
    throw new Error(
      `applyUpdate needs one eta per gradient (got ${gradients.length} gradients, ${etas.length} etas)`,
    );
  }
  for (const g of gradients) {
    if (g.length !== weights.length)
      throw new Error(`gradient has ${g.length} values, weights have ${weights.length}`);
  }
  const scale = 1 / gradients.length;
  const next = new Float32Array(weights.length);
  for (let j = 0; j < weights.length; j++) {
    let step = 0;
    for (let i = 0; i < gradients.length; i++) step += etas[i] * gradients[i][j];
    next[j] = weights[j] - scale * step;
  }
  return next;
}

/** Adds a round's staleness values to the running summary (histogram capped at `buckets`). */
export function addStaleness(
  stats: { applied: number; sum: number; max: number; histogram: readonly number[] },
  staleness: readonly number[],
  buckets = 33,
): { applied: number; sum: number; max: number; histogram: number[] } {
  const histogram = [...stats.histogram];
  let { sum, max } = stats;
  for (const s of staleness) {
    const bucket = Math.min(s, buckets - 1);
    while (histogram.length <= bucket) histogram.push(0);
    histogram[bucket] += 1;
    sum += s;
    max = Math.max(max, s);
  }
  return { applied: stats.applied + staleness.length, sum, max, histogram };
}
