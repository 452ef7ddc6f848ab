import fc from 'fast-check';
import {
  commitGradient,
  createRfastNodes,
  deliver,
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
  type TopologyKind,
} from '../../../engine/decentralized/topology';

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
