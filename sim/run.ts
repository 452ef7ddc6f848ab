import { ValidationError } from '../engine/errors';
import type { JobSpec, StragglerSpec } from '../engine/spec';
import { type Dataset, loadBuiltinDataset } from '../model/datasets';
import { buildModel } from '../model/zoo';
import { type ClosedForm, closedForm } from './closed-forms';
import { isZero, type TimeDistribution } from './distributions';
import { linearObjective, type Objective } from './objective';
import { type CurvePoint, type SimulationResult, simulate } from './simulator';
import type { SimulationPlan } from './spec';

/** One run of `kasync simulate SPEC`, as printed by `--json`. */
export interface RunSummary {
  readonly label: string;
  readonly variant: JobSpec['variant'];
  readonly k: number;
  readonly learners: number;
  readonly schedule: JobSpec['lr']['schedule'];
  readonly iterations: number;
  /** Seconds per update after the warm-up, and its standard error. */
  readonly meanIterationTime: number;
  readonly iterationTimeStdErr: number;
  /** The closed form of PAPERS.md §1 for this setting, or null (none, or the setting leaves its assumptions). */
  readonly closedForm: number | null;
  readonly closedFormKind: ClosedForm['kind'] | null;
  readonly closedFormFormula: string | null;
  readonly virtualSeconds: number;
  readonly updatesPerSecond: number;
  readonly finalLoss: number | null;
  readonly finalAccuracy: number | null;
  readonly gradients: SimulationResult['gradients'];
  readonly staleness: { readonly mean: number; readonly max: number };
}

export interface PlanResult {
  readonly results: readonly RunSummary[];
  /** Per run label: held-out loss against virtual time. */
  readonly curves: ReadonlyMap<string, readonly CurvePoint[]>;
}

/** Runs every configuration of a simulation spec. */
export function runPlan(plan: SimulationPlan): PlanResult {
  const { sim } = plan;
  const dataset = sim.objective ? objectiveDataset(plan.spec) : undefined;
  const results: RunSummary[] = [];
  const curves = new Map<string, readonly CurvePoint[]>();
  for (const run of plan.runs) {
    const { spec } = run;
    const objective = dataset ? objectiveFor(spec, dataset) : undefined;
    const result = simulate({
      spec,
      iterations: sim.iterations,
      computeTime: sim.computeTime,
      storageLatency: sim.storageLatency,
      coldStart: sim.coldStart,
      staleWork: sim.staleWork,
      polling: sim.polling,
      objective,
    });
    const form = closedFormFor(plan, spec);
    curves.set(run.label, result.curve);
    results.push({
      label: run.label,
      variant: spec.variant,
      k: spec.k,
      learners: spec.learners,
      schedule: spec.lr.schedule,
      iterations: result.iterations,
      meanIterationTime: result.meanIterationTime,
      iterationTimeStdErr: result.iterationTimeStdErr,
      closedForm: form?.value ?? null,
      closedFormKind: form?.kind ?? null,
      closedFormFormula: form?.formula ?? null,
      virtualSeconds: result.virtualSeconds,
      updatesPerSecond: result.updatesPerSecond,
      finalLoss: result.finalLoss,
      finalAccuracy: result.finalAccuracy,
      gradients: result.gradients,
      staleness: { mean: result.staleness.mean, max: result.staleness.max },
    });
  }
  return { results, curves };
}

function objectiveDataset(spec: JobSpec): Dataset {
  const kind = spec.model.kind;
  if (kind !== 'softmax' && kind !== 'logreg') {
    throw new ValidationError(
      'model',
      `the simulator trains softmax or logistic regression (got "${kind}"); use one of them or set sim.objective to false`,
    );
  }
  if (typeof spec.dataset !== 'string') {
    throw new ValidationError(
      'dataset',
      'the simulator trains on a built-in dataset; or set sim.objective to false',
    );
  }
  const dataset = loadBuiltinDataset(spec.dataset);
  if (kind === 'logreg' && dataset.classes !== 2) {
    throw new ValidationError('model', `logreg is binary; ${spec.dataset} has ${dataset.classes} classes`);
  }
  return dataset;
}

/** The zoo's model gives w[0], so a simulated run starts where a real job would. */
function objectiveFor(spec: JobSpec, dataset: Dataset): Objective {
  const kind = spec.model.kind === 'logreg' ? 'logreg' : 'softmax';
  const model = buildModel({ kind }, dataset);
  return linearObjective(kind, dataset, spec.batchSize, model.initParams(spec.seed));
}

/**
 * The closed forms assume zero storage latency, cancelled stale work and a compute time whose
 * distribution they know; outside that setting (or for a variant without one) there is none.
 */
function closedFormFor(plan: SimulationPlan, spec: JobSpec): ClosedForm | undefined {
  const { sim } = plan;
  if (sim.storageLatency && !isZero(sim.storageLatency)) return undefined;
  if (sim.polling || spec.adasync) return undefined;
  if (sim.staleWork === 'reject' && ['sync', 'k-sync', 'k-batch-sync'].includes(spec.variant))
    return undefined;
  const dist = combined(sim.computeTime, spec.stragglers);
  return dist && closedForm(spec.variant, spec.learners, spec.k, dist);
}

/** The distribution of compute time + straggler delay, where it is one the closed forms know. */
export function combined(compute: TimeDistribution, stragglers: StragglerSpec): TimeDistribution | undefined {
  if (isZero(stragglers)) return compute;
  if (isZero(compute)) return stragglers;
  if (compute.distribution === 'constant') {
    if (stragglers.distribution === 'exp')
      return { distribution: 'shifted-exp', shift: compute.seconds, rate: stragglers.rate };
    if (stragglers.distribution === 'shifted-exp') {
      return {
        distribution: 'shifted-exp',
        shift: compute.seconds + stragglers.shift,
        rate: stragglers.rate,
      };
    }
  }
  return undefined;
}
