import { pullWeight, pushWeight, type Topology } from './topology';

/**
 * R-FAST (Zhu et al., 2024): fully asynchronous decentralized SGD with robust gradient
 * tracking. Each node holds a model x_i and a tracker z_i of the average gradient, and runs at
 * its own pace:
 *
 *   1. mix:    x_i <- sum_j r_ij x_j (latest received) - gamma z_i
 *   2. fold:   z_i <- z_i + sum_j (pushed_ji as received now - pushed_ji as folded before)
 *                         + g_i(x_i new) - g_i(x_i old)
 *   3. push:   for each out-neighbour k: pushed_ik += c_ki z_i;  z_i <- c_ii z_i;
 *              send (x_i, pushed_ik) to k.
 *
 * The running sums are what make it robust: a lost or overtaken message leaves its mass "in
 * flight" (pushed by the sender, not yet folded by the receiver) until any later message on
 * the same link arrives, because that one carries the whole sum. So at every moment
 *
 *   sum_i z_i + sum_links (pushed - folded) = sum_i g_i   (the latest local gradients),
 *
 * whatever was lost or reordered (`trackerImbalance` measures it), and the trackers keep
 * steering every node towards the minimum of the average objective even when each node's data
 * is different, where gossip averaging of models alone stops short of it.
 *
 * Nodes are mutable and updated in place: a simulator runs thousands of activations of
 * many-thousand-parameter models, and the state belongs to one node.
 */

/** What node `from` sends to its out-neighbour `to` at the end of its activation `seq`. */
export interface RfastMessage {
  readonly from: number;
  readonly to: number;
  readonly seq: number;
  /** The sender's model after the activation. */
  readonly x: Float64Array;
  /** Running sum of all tracker mass `from` has ever pushed to `to`. */
  readonly pushed: Float64Array;
}

export interface RfastNode {
  readonly id: number;
  readonly x: Float64Array;
  readonly z: Float64Array;
  /** The local gradient of the last activation, g_i(x_i old). */
  readonly gradient: Float64Array;
  /**
   * Per in-neighbour, its newest message (highest seq) so far; older arrivals are dropped. Starts
   * with a seq-0 stand-in: the neighbour's model x0, nothing pushed.
   */
  readonly inbox: Map<number, RfastMessage>;
  /** Per in-neighbour, the running sum already added to z. */
  readonly folded: Map<number, Float64Array>;
  /** Per out-neighbour, the running sum pushed to it so far. */
  readonly pushed: Map<number, Float64Array>;
  activations: number;
}

/**
 * Every node starts from `x0` with its tracker at its own gradient there, g_i(x0), so the
 * trackers sum to the sum of the gradients from the start.
 */
export function createRfastNodes(
  topology: Topology,
  x0: Float64Array,
  initialGradient: (node: number, x: Float64Array) => Float64Array,
): RfastNode[] {
  // Shared, never written: the stand-in messages' contents.
  const start = Float64Array.from(x0);
  const nothing = new Float64Array(x0.length);
  return Array.from({ length: topology.size }, (_, id) => {
    const gradient = Float64Array.from(initialGradient(id, x0));
    if (gradient.length !== x0.length) {
      throw new RangeError(`node ${id}: gradient has ${gradient.length} values, the model ${x0.length}`);
    }
    const zeros = () => new Float64Array(x0.length);
    const sources = topology.inNeighbours[id] ?? [];
    return {
      id,
      x: Float64Array.from(x0),
      z: Float64Array.from(gradient),
      gradient,
      inbox: new Map(sources.map((j) => [j, { from: j, to: id, seq: 0, x: start, pushed: nothing }])),
      folded: new Map(sources.map((j) => [j, zeros()])),
      pushed: new Map((topology.outNeighbours[id] ?? []).map((k) => [k, zeros()])),
      activations: 0,
    };
  });
}

/** Keeps `message` if it is newer than what `node` has from its sender. */
export function deliver(node: RfastNode, message: RfastMessage): void {
  if (message.to !== node.id) throw new RangeError(`message for node ${message.to} delivered to ${node.id}`);
  if (!node.folded.has(message.from)) {
    throw new RangeError(`node ${node.id} does not hear from node ${message.from}`);
  }
  const held = node.inbox.get(message.from);
  if (held === undefined || held.seq < message.seq) node.inbox.set(message.from, message);
}

/**
 * Step 1: the pull-weighted average of the node's own model and the newest models its
 * in-neighbours sent, minus gamma z_i. Returns the new model, at which the caller computes the
 * next local gradient.
 */
export function mixModels(node: RfastNode, topology: Topology, stepSize: number): Float64Array {
  const weight = pullWeight(topology, node.id);
  const { x, z } = node;
  const sources = [...node.inbox.values()].map((message) => message.x);
  for (let d = 0; d < x.length; d++) {
    let sum = x[d] as number;
    for (const source of sources) sum += source[d] as number;
    x[d] = weight * sum - stepSize * (z[d] as number);
  }
  return x;
}

/**
 * Steps 2 and 3 with the gradient g_i at the model `mixModels` returned: folds what arrived,
 * swaps the old gradient for the new in the tracker, pushes shares of the tracker to the
 * out-neighbours and returns one message for each.
 */
export function commitGradient(node: RfastNode, topology: Topology, gradient: Float64Array): RfastMessage[] {
  const { z } = node;
  if (gradient.length !== z.length) {
    throw new RangeError(`node ${node.id}: gradient has ${gradient.length} values, the model ${z.length}`);
  }
  for (const [j, folded] of node.folded) {
    const received = node.inbox.get(j)?.pushed as Float64Array;
    for (let d = 0; d < z.length; d++)
      z[d] = (z[d] as number) + (received[d] as number) - (folded[d] as number);
    folded.set(received);
  }
  for (let d = 0; d < z.length; d++)
    z[d] = (z[d] as number) + (gradient[d] as number) - (node.gradient[d] as number);
  node.gradient.set(gradient);

  const share = pushWeight(topology, node.id);
  node.activations++;
  const messages: RfastMessage[] = [];
  const x = Float64Array.from(node.x);
  for (const [k, pushed] of node.pushed) {
    for (let d = 0; d < z.length; d++) pushed[d] = (pushed[d] as number) + share * (z[d] as number);
    messages.push({ from: node.id, to: k, seq: node.activations, x, pushed: Float64Array.from(pushed) });
  }
  for (let d = 0; d < z.length; d++) z[d] = share * (z[d] as number);
  return messages;
}

/**
 * The largest absolute entry of sum_i z_i + sum_links (pushed - folded) - sum_i g_i: zero up to
 * rounding, whatever was lost or reordered (see the module comment).
 */
export function trackerImbalance(nodes: readonly RfastNode[]): number {
  const size = nodes[0]?.z.length ?? 0;
  const balance = new Float64Array(size);
  for (const node of nodes) {
    for (let d = 0; d < size; d++)
      balance[d] = (balance[d] as number) + (node.z[d] as number) - (node.gradient[d] as number);
    for (const [k, pushed] of node.pushed) {
      const folded = nodes[k]?.folded.get(node.id) as Float64Array;
      for (let d = 0; d < size; d++)
        balance[d] = (balance[d] as number) + (pushed[d] as number) - (folded[d] as number);
    }
  }
  return balance.reduce((worst, value) => Math.max(worst, Math.abs(value)), 0);
}

/** The average of the nodes' models: what a decentralized run has learned. */
export function meanModel(models: readonly Float64Array[]): Float64Array {
  const mean = new Float64Array(models[0]?.length ?? 0);
  for (const x of models)
    for (let d = 0; d < mean.length; d++) mean[d] = (mean[d] as number) + (x[d] as number);
  for (let d = 0; d < mean.length; d++) mean[d] = (mean[d] as number) / models.length;
  return mean;
}
