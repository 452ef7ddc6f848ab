import fc from 'fast-check';
import {
  commitGradient,
  createRfastNodes,
  deliver,
  meanModel,
  mixModels,
  type RfastMessage,
  type RfastNode,
  trackerImbalance,
} from '../../../engine/decentralized/rfast';
import {
  buildTopology,
  pullWeight,
  pushWeight,
  TOPOLOGY_KINDS,
  type Topology,
  type TopologyKind,
} from '../../../engine/decentralized/topology';
import { createRng, type Rng } from '../../../model/random';

describe('topologies', () => {
  test.each(TOPOLOGY_KINDS.flatMap((kind) => [1, 2, 5, 8].map((size) => [kind, size] as const)))(
    '%s of %i: in and out lists mirror each other, weights are stochastic, everyone reaches everyone',
    (kind, size) => {
      const topology = buildTopology(kind, size);
      for (let i = 0; i < size; i++) {
        for (const j of topology.inNeighbours[i] ?? []) expect(topology.outNeighbours[j]).toContain(i);
        expect(topology.inNeighbours[i]).not.toContain(i);
        // Row i of R: i's own weight plus one per in-neighbour; column j of C likewise.
        expect(pullWeight(topology, i) * ((topology.inNeighbours[i]?.length ?? 0) + 1)).toBeCloseTo(1, 12);
        expect(pushWeight(topology, i) * ((topology.outNeighbours[i]?.length ?? 0) + 1)).toBeCloseTo(1, 12);
      }
      const reached = new Set([0]);
      for (let hops = 0; hops < size; hops++) {
        for (const j of [...reached]) for (const i of topology.outNeighbours[j] ?? []) reached.add(i);
      }
      expect(reached.size).toBe(size);
    },
  );

  test('neighbour counts', () => {
    expect(buildTopology('ring', 8).inNeighbours[0]).toEqual([7]);
    expect(buildTopology('bidirectional-ring', 8).inNeighbours[0]).toEqual([1, 7]);
    expect(buildTopology('exponential', 8).outNeighbours[0]).toEqual([1, 2, 4]);
    expect(buildTopology('complete', 4).outNeighbours[2]).toEqual([0, 1, 3]);
    expect(() => buildTopology('ring', 0)).toThrow(/positive integer/);
  });
});

/**
 * Heterogeneous quadratics f_i(x) = a_i / 2 ||x - b_i||^2: each node's data pulls towards its
 * own b_i, and the minimum of the average is x* = sum a_i b_i / sum a_i.
 */
function quadratics(size: number, dimension: number, rng: Rng) {
  const a = Array.from({ length: size }, () => 0.5 + rng.next());
  const b = Array.from({ length: size }, () =>
    Float64Array.from({ length: dimension }, () => 4 * rng.normal()),
  );
  const optimum = new Float64Array(dimension);
  const total = a.reduce((sum, value) => sum + value, 0);
  for (let i = 0; i < size; i++) {
    for (let d = 0; d < dimension; d++)
      optimum[d] =
        (optimum[d] as number) + ((a[i] as number) * ((b[i] as Float64Array)[d] as number)) / total;
  }
  const gradient = (i: number, x: Float64Array) =>
    Float64Array.from(x, (value, d) => (a[i] as number) * (value - ((b[i] as Float64Array)[d] as number)));
  return { gradient, optimum };
}

interface InFlight {
  readonly message: RfastMessage;
  readonly arrives: number;
}

/**
 * Asynchronous run on a virtual clock: nodes activate at random times (each a random speed), a
 * message is lost with probability `loss` or else arrives after a random delay, so messages
 * also overtake each other. Returns the nodes after `activations` activations.
 */
function runAsynchronously(
  topology: Topology,
  options: { activations: number; loss: number; stepSize: number; seed: number; tracking?: boolean },
  problem: ReturnType<typeof quadratics>,
  x0: Float64Array,
): RfastNode[] {
  const rng = createRng(options.seed);
  const nodes = createRfastNodes(topology, x0, problem.gradient);
  const speeds = nodes.map(() => 0.5 + rng.next());
  const nextActivation = nodes.map((_, i) => rng.next() / (speeds[i] as number));
  let inFlight: InFlight[] = [];
  for (let step = 0; step < options.activations; step++) {
    const now = Math.min(...nextActivation);
    const i = nextActivation.indexOf(now);
    const arrived = inFlight.filter((item) => item.arrives <= now);
    inFlight = inFlight.filter((item) => item.arrives > now);
    for (const { message } of arrived) deliver(nodes[message.to] as RfastNode, message);
    const node = nodes[i] as RfastNode;
    const x = mixModels(node, topology, options.stepSize);
    const gradient = problem.gradient(i, x);
    const messages = commitGradient(node, topology, gradient);
    // The control without tracking: every node steps along its own gradient only.
    if (options.tracking === false) node.z.set(gradient);
    for (const message of messages) {
      if (rng.next() >= options.loss) inFlight.push({ message, arrives: now + 3 * rng.next() });
    }
    nextActivation[i] = now + (0.5 + rng.next()) / (speeds[i] as number);
  }
  return nodes;
}

const distance = (a: Float64Array, b: Float64Array) =>
  Math.sqrt(a.reduce((sum, value, d) => sum + (value - (b[d] as number)) ** 2, 0));

describe('R-FAST', () => {
  test('the trackers plus the mass in flight always sum to the latest gradients, whatever is lost or reordered', () => {
    const command = fc.oneof(
      fc.record({
        kind: fc.constant('activate' as const),
        node: fc.nat(),
        values: fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 3, maxLength: 3 }),
      }),
      fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom<TopologyKind>(...TOPOLOGY_KINDS),
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        fc.array(command, { maxLength: 80 }),
        (kind, size, stepSize, commands) => {
          const topology = buildTopology(kind, size);
          const nodes = createRfastNodes(topology, Float64Array.of(1, -2, 3), (i, x) =>
            x.map((value) => value * (i + 1)),
          );
          const pending: RfastMessage[] = [];
          for (const step of commands) {
            if (step.kind === 'activate') {
              const node = nodes[step.node % size] as RfastNode;
              mixModels(node, topology, stepSize);
              pending.push(...commitGradient(node, topology, Float64Array.from(step.values)));
            } else if (pending.length > 0) {
              // Any pending message, not the oldest: deliveries overtake each other.
              const [message] = pending.splice(step.pick % pending.length, 1) as [RfastMessage];
              if (step.kind === 'deliver') deliver(nodes[message.to] as RfastNode, message);
            }
            const scale = Math.max(
              1,
              ...nodes.flatMap((node) => [...node.gradient, ...node.z].map(Math.abs)),
            );
            expect(trackerImbalance(nodes)).toBeLessThan(1e-9 * scale * (commands.length + 1));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  // Step sizes as large as each graph tolerates: the sparse ring diverges at 0.3 in this run.
  test.each([
    ['exponential', 8, 0, 0.2],
    ['exponential', 8, 0.3, 0.2],
    ['ring', 6, 0.3, 0.1],
    ['bidirectional-ring', 7, 0.5, 0.2],
  ] as const)(
    '%s of %i with %f of messages lost (step %f): every node converges to the minimum of the average objective',
    (kind, size, loss, stepSize) => {
      const topology = buildTopology(kind, size);
      const problem = quadratics(size, 4, createRng(size));
      const options = { activations: 10_000, loss, stepSize, seed: 3 };
      const nodes = runAsynchronously(topology, options, problem, new Float64Array(4));
      for (const node of nodes) expect(distance(node.x, problem.optimum)).toBeLessThan(1e-6);
      expect(trackerImbalance(nodes)).toBeLessThan(1e-9);
    },
  );

  test('without gradient tracking (each node steps on its own gradient) the same run stops short of the minimum', () => {
    const topology = buildTopology('exponential', 8);
    const problem = quadratics(8, 4, createRng(8));
    const options = { activations: 10_000, loss: 0.3, stepSize: 0.2, seed: 3 };
    const tracked = runAsynchronously(topology, options, problem, new Float64Array(4));
    const untracked = runAsynchronously(
      topology,
      { ...options, tracking: false },
      problem,
      new Float64Array(4),
    );
    expect(distance(meanModel(tracked.map((node) => node.x)), problem.optimum)).toBeLessThan(1e-6);
    // Data heterogeneity biases plain gossip + local steps by O(stepSize) at a constant step.
    expect(distance(meanModel(untracked.map((node) => node.x)), problem.optimum)).toBeGreaterThan(1e-2);
  });

  test('messages addressed elsewhere, from strangers, or older than what a node holds are refused or ignored', () => {
    const topology = buildTopology('ring', 3);
    const nodes = createRfastNodes(topology, Float64Array.of(0), () => Float64Array.of(1));
    const [first, second] = [0, 1].map(() =>
      commitGradient(nodes[0] as RfastNode, topology, Float64Array.of(2)),
    );
    const [newer, older] = [second?.[0], first?.[0]] as [RfastMessage, RfastMessage];
    deliver(nodes[1] as RfastNode, newer);
    deliver(nodes[1] as RfastNode, older);
    expect(nodes[1]?.inbox.get(0)?.seq).toBe(2);
    expect(() => deliver(nodes[2] as RfastNode, newer)).toThrow(/delivered to 2/);
    expect(() => deliver(nodes[0] as RfastNode, { ...newer, to: 0, from: 1 })).toThrow(
      /does not hear from node 1/,
    );
    expect(() => commitGradient(nodes[0] as RfastNode, topology, Float64Array.of(1, 2))).toThrow(/2 values/);
  });
});
