import { learningRate, needsStaleWeights, squaredDistance } from './lr';
import type { Stores } from './store';
import { applyUpdate } from './update';
import { variantRule } from './variants';
import { WeightsCache } from './weights-cache';

export interface AuditReport {
  readonly ok: boolean;
  readonly jobId: string;
  readonly version: number;
  /** Versions whose replayed weights equal the stored ones bit for bit. */
  readonly versionsVerified: number;
  readonly problems: readonly string[];
  readonly gradients: { readonly acknowledged: number; readonly applied: number; readonly pending: number };
}

const MAX_PROBLEMS = 50;

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Replays a job's commit log from w[0] and checks it: versions contiguous, every commit holds
 * exactly K gradients (K distinct learners for the variants that require it), no gradient applied
 * twice, each eta what the schedule gives, each replayed w[v] equal to the stored one bit for
 * bit, and every acknowledged gradient either applied or still pending.
 */
export async function auditJob(stores: Stores, jobId: string): Promise<AuditReport> {
  const [state, commits] = await Promise.all([stores.jobs.getJob(jobId), stores.jobs.listCommits(jobId)]);
  const { spec } = state;
  const problems: string[] = [];
  const problem = (message: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(message);
  };
  commits.sort((a, b) => a.version - b.version);
  const seen = new Set<string>();
  const { distinctLearners } = variantRule(spec.variant);
  // Stale weights for dutta-joshi: replayed ones while in the ring, stored ones (checked) beyond it.
  const history = new WeightsCache(64, (version) => stores.blobs.getWeights(jobId, version));
  let weights = await stores.blobs.getWeights(jobId, 0);
  history.put(0, weights);
  let verified = 0;
  let applied = 0;

  const committed = commits.filter((c) => c.version <= state.version);
  if (committed.length !== state.version)
    problem(`job is at version ${state.version} but ${committed.length} commit records exist`);
  for (const [i, commit] of committed.entries()) {
    const v = i + 1;
    if (commit.version !== v) {
      problem(`commit log has a gap: expected version ${v}, found ${commit.version}`);
      break;
    }
    if (commit.grads.length !== commit.k)
      problem(`version ${v} applied ${commit.grads.length} gradients, K is ${commit.k}`);
    if (!spec.adasync && commit.k !== spec.k)
      problem(`version ${v} used K = ${commit.k}, the spec says ${spec.k}`);
    if (distinctLearners && new Set(commit.grads.map((g) => g.learner)).size !== commit.grads.length) {
      problem(`version ${v} holds two gradients of one learner`);
    }
    for (const g of commit.grads) {
      if (seen.has(g.grad)) problem(`gradient ${g.grad} applied twice (again in version ${v})`);
      seen.add(g.grad);
      if (g.staleness !== v - 1 - g.version)
        problem(`version ${v}: gradient ${g.grad} records staleness ${g.staleness}`);
    }
    const [gradients, staleWeights] = await Promise.all([
      Promise.all(commit.grads.map((g) => stores.blobs.getGradient(jobId, g.grad))),
      needsStaleWeights(spec.lr) ? Promise.all(commit.grads.map((g) => history.get(g.version))) : undefined,
    ]);
    const etas = commit.grads.map((g, j) => {
      const stale = staleWeights?.[j];
      return learningRate(spec.lr, {
        staleness: g.staleness,
        distanceSq: stale && (() => squaredDistance(weights, stale)),
      });
    });
    etas.forEach((eta, j) => {
      if (eta !== commit.grads[j].eta)
        problem(`version ${v}: eta ${commit.grads[j].eta} recorded, schedule gives ${eta}`);
    });
    weights = applyUpdate(weights, gradients, etas);
    applied += gradients.length;
    history.put(v, weights);
    if (sameBits(weights, await stores.blobs.getWeights(jobId, v))) verified++;
    else problem(`replayed weights of version ${v} differ from the stored ones`);
  }

  for (const entry of state.pending) {
    if (seen.has(entry.grad)) problem(`pending gradient ${entry.grad} was already applied`);
  }
  if (applied + state.pending.length !== state.pushed) {
    problem(
      `${state.pushed} gradients acknowledged, but ${applied} applied and ${state.pending.length} pending`,
    );
  }
  return {
    ok: problems.length === 0,
    jobId,
    version: state.version,
    versionsVerified: verified,
    problems,
    gradients: { acknowledged: state.pushed, applied, pending: state.pending.length },
  };
}
