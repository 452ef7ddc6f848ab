import {
  commitGradient,
  createRfastNodes,
  deliver,
  meanModel,
  mixModels,
  type RfastMessage,
  type RfastNode,
} from '../engine/decentralized/rfast';
import { buildTopology, type Topology, type TopologyKind } from '../engine/decentralized/topology';
import type { Split } from '../model/datasets';
import { createRng, type Rng } from '../model/random';
import { createSampler, type Sampler, type TimeDistribution, timeDistributionSchema } from './distributions';
import { EventQueue } from './event-queue';
import type { Objective } from './objective';

/**
 * Decentralized training on a virtual clock: R-FAST against the baselines its paper compares
 * with (PAPERS.md §2), each node with its own data and its own compute times.
 *
 * - rfast: every node runs at its own pace (engine/decentralized/rfast.ts); a lost message is
 *   simply lost, the next one on the link makes up for it.
 * - allreduce: synchronous SGD on one model; a round lasts as long as the slowest gradient plus
 *   a ring all-reduce (2(P-1) steps, each as slow as its slowest transfer).
 * - d-psgd (Lian et al. 2017): synchronous gossip, x_i <- sum_j W_ij x_j - gamma g_i(x_i) with
 *   Metropolis weights on the undirected graph; a round waits for the slowest node and link.
 * - ad-psgd (Lian et al. 2018): a node that finishes a gradient averages its model with one
 *   random neighbour (an exchange of two transfers), then applies the gradient, computed at the
 *   model it read when it started.
 * The synchronous and pairwise protocols need every message: a lost one is sent again after a
 * timeout of twice its latency.
 */
export const DECENTRALIZED_ALGORITHMS = ['rfast', 'allreduce', 'd-psgd', 'ad-psgd'] as const;
export type DecentralizedAlgorithm = (typeof DECENTRALIZED_ALGORITHMS)[number];

export interface DecentralizedSpec {
  readonly algorithm: DecentralizedAlgorithm;
  /** Ignored by allreduce. */
  readonly topology: TopologyKind;
  readonly stepSize: number;
  /** Seconds per local gradient. */
  readonly compute: TimeDistribution;
  /** Seconds per message. */
  readonly latency: TimeDistribution;
  /** Probability that a message is lost. */
  readonly messageLoss: number;
  /** Virtual seconds to run. */
  readonly seconds: number;
  /** Virtual seconds between evaluations of the average model. */
  readonly evaluateEvery: number;
  readonly seed: number;
}

export interface DecentralizedPoint {
  readonly seconds: number;
  readonly loss: number;
  readonly accuracy: number;
  /** Local gradients computed so far, over all nodes. */
  readonly gradients: number;
  /** The largest distance of a node's model from the average model: how far from consensus. */
  readonly disagreement: number;
}

export interface DecentralizedResult {
  readonly trace: readonly DecentralizedPoint[];
  readonly gradients: number;
  readonly messages: number;
  readonly lost: number;
}

/** One objective per node (its own data); `evaluate` scores the average model. */
export interface DecentralizedProblem {
  readonly nodes: readonly Objective[];
  evaluate(weights: Float32Array): { readonly loss: number; readonly accuracy: number };
}

export function simulateDecentralized(
  spec: DecentralizedSpec,
  problem: DecentralizedProblem,
): DecentralizedResult {
  const size = problem.nodes.length;
  if (size < 1) throw new RangeError('a decentralized run needs at least one node');
  if (!(spec.messageLoss >= 0 && spec.messageLoss < 1)) {
    throw new RangeError(`messageLoss must be in [0, 1), got ${spec.messageLoss}`);
  }
  for (const field of ['compute', 'latency'] as const) {
    const parsed = timeDistributionSchema.safeParse(spec[field]);
    if (!parsed.success)
      throw new RangeError(`${field}: ${parsed.error.issues[0]?.message ?? 'not a time distribution'}`);
  }
  const rng = createRng(spec.seed);
  const run: Run = {
    spec,
    problem,
    rng,
    topology: buildTopology(spec.topology, size),
    compute: createSampler(spec.compute),
    latency: createSampler(spec.latency),
    counts: { gradients: 0, messages: 0, lost: 0 },
    trace: [],
    gradient: (node, x) => {
      run.counts.gradients++;
      const { grad } = (problem.nodes[node] as Objective).gradient(Float32Array.from(x), rng);
      return Float64Array.from(grad);
    },
  };
  SIMULATE[spec.algorithm](run, Float64Array.from((problem.nodes[0] as Objective).initial));
  return { trace: run.trace, ...run.counts };
}

interface Run {
  readonly spec: DecentralizedSpec;
  readonly problem: DecentralizedProblem;
  readonly rng: Rng;
  readonly topology: Topology;
  readonly compute: Sampler;
  readonly latency: Sampler;
  readonly counts: { gradients: number; messages: number; lost: number };
  readonly trace: DecentralizedPoint[];
  gradient(node: number, x: Float64Array): Float64Array;
}

/** Records evaluations of the average of `models()` at every evaluation time up to `until`. */
function evaluator(run: Run, models: () => readonly Float64Array[]) {
  let next = 0;
  return (until: number) => {
    while (next <= Math.min(until, run.spec.seconds)) {
      const current = models();
      const mean = meanModel(current);
      const { loss, accuracy } = run.problem.evaluate(Float32Array.from(mean));
      const disagreement = Math.max(
        ...current.map((x) =>
          Math.sqrt(x.reduce((sum, value, d) => sum + (value - (mean[d] as number)) ** 2, 0)),
        ),
      );
      run.trace.push({ seconds: next, loss, accuracy, gradients: run.counts.gradients, disagreement });
      next += run.spec.evaluateEvery;
    }
  };
}

/** Seconds until a message gets through, resending after a timeout of twice its latency. */
function reliableTransfer(run: Run): number {
  let elapsed = 0;
  for (;;) {
    const latency = run.latency(run.rng);
    run.counts.messages++;
    if (run.rng.next() >= run.spec.messageLoss) return elapsed + latency;
    run.counts.lost++;
    elapsed += 2 * latency;
  }
}

const SIMULATE: Record<DecentralizedAlgorithm, (run: Run, x0: Float64Array) => void> = {
  rfast(run, x0) {
    const { topology, spec } = run;
    const nodes = createRfastNodes(topology, x0, (i, x) => run.gradient(i, x));
    const evaluate = evaluator(run, () => nodes.map((node) => node.x));
    const queue = new EventQueue();
    const inFlight = new Map<number, RfastMessage>();
    let nextMessage = 0;
    // Payload i < size: node i finishes its gradient; i >= size: message i - size arrives.
    const pending: Float64Array[] = nodes.map(() => new Float64Array(0));
    evaluate(0);
    const start = (i: number, now: number) => {
      const x = mixModels(nodes[i] as RfastNode, topology, spec.stepSize);
      pending[i] = run.gradient(i, x);
      queue.push(now + run.compute(run.rng), i, 0);
    };
    for (let i = 0; i < nodes.length; i++) start(i, 0);
    while (queue.size > 0 && queue.peekTime() <= spec.seconds) {
      const now = queue.peekTime();
      const payload = queue.peekPayload();
      queue.pop();
      evaluate(now);
      if (payload >= nodes.length) {
        const message = inFlight.get(payload - nodes.length) as RfastMessage;
        inFlight.delete(payload - nodes.length);
        deliver(nodes[message.to] as RfastNode, message);
        continue;
      }
      const node = nodes[payload] as RfastNode;
      for (const message of commitGradient(node, topology, pending[payload] as Float64Array)) {
        run.counts.messages++;
        if (run.rng.next() < spec.messageLoss) {
          run.counts.lost++;
          continue;
        }
        inFlight.set(nextMessage, message);
        queue.push(now + run.latency(run.rng), nodes.length + nextMessage++, 0);
      }
      start(payload, now);
    }
    evaluate(spec.seconds);
  },

  allreduce(run, x0) {
    const size = run.problem.nodes.length;
    const x = Float64Array.from(x0);
    const evaluate = evaluator(run, () => [x]);
    for (let now = 0; now <= run.spec.seconds; ) {
      const step = new Float64Array(x.length);
      let slowest = 0;
      for (let i = 0; i < size; i++) {
        const gradient = run.gradient(i, x);
        for (let d = 0; d < x.length; d++) step[d] = (step[d] as number) + (gradient[d] as number) / size;
        slowest = Math.max(slowest, run.compute(run.rng));
      }
      let reduce = 0;
      for (let hop = 0; hop < 2 * (size - 1); hop++) {
        let hopTime = 0;
        for (let i = 0; i < size; i++) hopTime = Math.max(hopTime, reliableTransfer(run));
        reduce += hopTime;
      }
      now += slowest + reduce;
      evaluate(now);
      descend(x, run.spec.stepSize, step);
    }
    evaluate(run.spec.seconds);
  },

  'd-psgd'(run, x0) {
    const size = run.problem.nodes.length;
    const neighbours = undirected(run.topology);
    const models = Array.from({ length: size }, () => Float64Array.from(x0));
    const evaluate = evaluator(run, () => models);
    const edges = neighbours.reduce((total, list) => total + list.length, 0);
    for (let now = 0; now <= run.spec.seconds; ) {
      let slowest = 0;
      const gradients = models.map((x, i) => {
        slowest = Math.max(slowest, run.compute(run.rng));
        return run.gradient(i, x);
      });
      let exchange = 0;
      for (let edge = 0; edge < edges; edge++) exchange = Math.max(exchange, reliableTransfer(run));
      now += slowest + exchange;
      evaluate(now);
      const mixed = models.map((x, i) => {
        const own = neighbours[i] as readonly number[];
        const next = Float64Array.from(x);
        for (const j of own) {
          const weight = 1 / (1 + Math.max(own.length, (neighbours[j] as readonly number[]).length));
          const other = models[j] as Float64Array;
          for (let d = 0; d < x.length; d++)
            next[d] = (next[d] as number) + weight * ((other[d] as number) - (x[d] as number));
        }
        return descend(next, run.spec.stepSize, gradients[i] as Float64Array);
      });
      for (const [i, next] of mixed.entries()) (models[i] as Float64Array).set(next);
    }
    evaluate(run.spec.seconds);
  },

  'ad-psgd'(run, x0) {
    const size = run.problem.nodes.length;
    const neighbours = undirected(run.topology);
    const models = Array.from({ length: size }, () => Float64Array.from(x0));
    const evaluate = evaluator(run, () => models);
    const queue = new EventQueue();
    const pending: Float64Array[] = models.map(() => new Float64Array(0));
    evaluate(0);
    const start = (i: number, now: number) => {
      pending[i] = run.gradient(i, models[i] as Float64Array);
      queue.push(now + run.compute(run.rng), i, 0);
    };
    for (let i = 0; i < size; i++) start(i, 0);
    while (queue.size > 0 && queue.peekTime() <= run.spec.seconds) {
      const now = queue.peekTime();
      const i = queue.peekPayload();
      queue.pop();
      evaluate(now);
      const x = models[i] as Float64Array;
      const own = neighbours[i] as readonly number[];
      if (own.length > 0) {
        const other = models[own[run.rng.int(own.length)] as number] as Float64Array;
        for (let d = 0; d < x.length; d++) {
          const mean = ((x[d] as number) + (other[d] as number)) / 2;
          x[d] = mean;
          other[d] = mean;
        }
      }
      const gradient = pending[i] as Float64Array;
      for (let d = 0; d < x.length; d++)
        x[d] = (x[d] as number) - run.spec.stepSize * (gradient[d] as number);
      const exchange = own.length > 0 ? reliableTransfer(run) + reliableTransfer(run) : 0;
      start(i, now + exchange);
    }
    evaluate(run.spec.seconds);
  },
};

/** x <- x - stepSize * direction, in place; returns x. */
function descend(x: Float64Array, stepSize: number, direction: Float64Array): Float64Array {
  for (let d = 0; d < x.length; d++) x[d] = (x[d] as number) - stepSize * (direction[d] as number);
  return x;
}

/** Neighbours on the undirected version of the graph, for the protocols that exchange both ways. */
function undirected(topology: Topology): readonly (readonly number[])[] {
  return topology.inNeighbours.map((sources, i) =>
    [...new Set([...sources, ...(topology.outNeighbours[i] ?? [])])].sort((a, b) => a - b),
  );
}

/**
 * Splits `split` into `parts` shards of consecutive labels (sorted by label, then cut), so each
 * node sees one or two classes: the data heterogeneity that gradient tracking is for.
 */
export function labelSkewedShards(split: Split, features: number, parts: number): Split[] {
  const order = Array.from({ length: split.n }, (_, i) => i).sort(
    (a, b) => (split.y[a] as number) - (split.y[b] as number) || a - b,
  );
  return Array.from({ length: parts }, (_, part) => {
    const rows = order.slice(
      Math.floor((part * split.n) / parts),
      Math.floor(((part + 1) * split.n) / parts),
    );
    const x = new Float32Array(rows.length * features);
    const y = new Uint8Array(rows.length);
    rows.forEach((row, i) => {
      x.set(split.x.subarray(row * features, (row + 1) * features), i * features);
      y[i] = split.y[row] as number;
    });
    return { x, y, n: rows.length };
  });
}
