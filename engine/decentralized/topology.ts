/**
 * Directed communication graphs for decentralized training (no parameter server). An edge
 * j -> i means i hears from j: i pulls j's model (graph G_R of R-FAST) and j pushes tracker mass
 * to i (graph G_C). kasync uses one graph for both, so their spanning trees share every root.
 */
export interface Topology {
  readonly kind: TopologyKind;
  readonly size: number;
  /** inNeighbours[i]: the nodes i hears from, ascending, without i. */
  readonly inNeighbours: readonly (readonly number[])[];
  /** outNeighbours[j]: the nodes that hear from j, ascending, without j. */
  readonly outNeighbours: readonly (readonly number[])[];
}

export const TOPOLOGY_KINDS = ['ring', 'bidirectional-ring', 'exponential', 'complete'] as const;
export type TopologyKind = (typeof TOPOLOGY_KINDS)[number];

/**
 * - ring: j -> j+1 (one in-neighbour each; the sparsest strongly connected graph);
 * - bidirectional-ring: j -> j +- 1;
 * - exponential: j -> j + 2^k for 2^k < size (log2 size neighbours; a common choice in
 *   decentralized SGD because information crosses it in log2 size hops);
 * - complete: everyone hears everyone.
 */
export function buildTopology(kind: TopologyKind, size: number): Topology {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`size must be a positive integer, got ${size}`);
  const offsets = (() => {
    switch (kind) {
      case 'ring':
        return [1];
      case 'bidirectional-ring':
        return [1, size - 1];
      case 'exponential':
        return Array.from({ length: Math.ceil(Math.log2(Math.max(size, 2))) }, (_, k) => 2 ** k);
      case 'complete':
        return Array.from({ length: size - 1 }, (_, k) => k + 1);
    }
  })();
  const out = Array.from({ length: size }, (_, j) => {
    const targets = new Set(offsets.map((offset) => (j + offset) % size));
    targets.delete(j);
    return [...targets].sort((a, b) => a - b);
  });
  return fromEdges(kind, out);
}

function fromEdges(kind: TopologyKind, outNeighbours: readonly (readonly number[])[]): Topology {
  const inNeighbours = outNeighbours.map(() => [] as number[]);
  outNeighbours.forEach((targets, j) => {
    for (const i of targets) inNeighbours[i]?.push(j);
  });
  for (const sources of inNeighbours) sources.sort((a, b) => a - b);
  return { kind, size: outNeighbours.length, inNeighbours, outNeighbours };
}

/**
 * Pull weights r_ij of node i: uniform over i and its in-neighbours, so every row sums to 1
 * (row-stochastic, as R-FAST's model mixing needs).
 */
export function pullWeight(topology: Topology, i: number): number {
  return 1 / ((topology.inNeighbours[i]?.length ?? 0) + 1);
}

/**
 * Push weights c_kj of node j: uniform over j and its out-neighbours, so the mass j holds is
 * split without loss (column-stochastic, as R-FAST's gradient tracking needs).
 */
export function pushWeight(topology: Topology, j: number): number {
  return 1 / ((topology.outNeighbours[j]?.length ?? 0) + 1);
}
