import { z } from 'zod';
import { ValidationError } from '../engine/errors';
import { type JobSpec, jobSpecSchema, parseJobSpec } from '../engine/spec';
import { validate } from '../engine/validate';
import { VARIANT_NAMES, VARIANTS, type VariantName } from '../engine/variants';
import { durationSchema, type TimeDistribution, timeDistributionSchema } from './distributions';
import type { StaleWork } from './simulator';

const variantName = z.enum(VARIANT_NAMES as [VariantName, ...VariantName[]]);
const lrSchema = jobSpecSchema.shape.lr.unwrap();

/**
 * The `sim` field of a simulation spec (a job spec plus `sim`). Times are in seconds; the
 * compute-time distributions are named and parameterized like the job spec's `stragglers`.
 */
export const simOptionsSchema = z.strictObject({
  /** Updates to simulate per run (default: the spec's stop.maxUpdates). */
  iterations: z.number().int().min(1).max(10_000_000).optional(),
  /** Compute time of one mini-batch; the spec's `stragglers` delay is added to it, as a learner does. */
  computeTime: timeDistributionSchema,
  /** Latency of one storage operation (a number is a constant). 0 unless given: the closed forms' setting. */
  storageLatency: durationSchema.optional(),
  /** Delay before each learner's first step. */
  coldStart: durationSchema.optional(),
  /** Sync variants: `cancel` stale work at each update (the paper), or `reject` it on arrival (the engine). */
  staleWork: z.enum(['cancel', 'reject']).default('cancel'),
  /** Waiting learners poll the job item with the engine's back-off instead of hearing of commits at once. */
  polling: z.boolean().default(false),
  /** Variants to compare (default: the spec's); a name, or {variant, k}. */
  variants: z
    .array(
      z.union([
        variantName,
        z.strictObject({ variant: variantName, k: z.number().int().min(1).max(1000).optional() }),
      ]),
    )
    .min(1)
    .max(12)
    .optional(),
  /** Learning-rate schedules to compare (default: the spec's lr); a schedule name or a full lr object. */
  schedules: z
    .array(z.union([lrSchema.shape.schedule.unwrap(), lrSchema]))
    .min(1)
    .max(6)
    .optional(),
  /** Train the objective (softmax regression on the spec's dataset); false simulates times only. */
  objective: z.boolean().default(true),
});

export type SimOptions = z.output<typeof simOptionsSchema>;

/** One simulated configuration: the spec it runs (variant, K, lr resolved) and its label. */
export interface SimulationRun {
  readonly label: string;
  readonly spec: JobSpec;
}

export interface SimulationPlan {
  /** The job spec without `sim`, validated. */
  readonly spec: JobSpec;
  readonly sim: SimOptions & {
    readonly iterations: number;
    readonly storageLatency?: TimeDistribution;
    readonly coldStart?: TimeDistribution;
    readonly staleWork: StaleWork;
  };
  readonly runs: readonly SimulationRun[];
}

/**
 * Validates a simulation spec: the job spec part with the engine's schema, `sim` with its own.
 * Every error is a ValidationError naming the field (`sim.computeTime.rate`, `sim.variants.1.k`).
 */
export function parseSimulationSpec(input: unknown): SimulationPlan {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('(spec)', 'a simulation spec is an object: a job spec plus "sim"');
  }
  const { sim: rawSim, ...raw } = input as Record<string, unknown>;
  if (rawSim === undefined) throw new ValidationError('sim', 'required: {"iterations", "computeTime", ...}');
  const spec = parseJobSpec(raw);
  const sim = renamed(
    (field) => (field ? `sim.${field}` : 'sim'),
    () => validate(simOptionsSchema, rawSim, ''),
  );
  const variants = (sim.variants ?? [spec.variant]).map((entry) =>
    typeof entry === 'string' ? { variant: entry } : entry,
  );
  const rawLr = (raw.lr ?? {}) as Record<string, unknown>;
  const schedules = sim.schedules ?? [undefined];
  const runs: SimulationRun[] = [];
  variants.forEach((entry, i) => {
    const fixed = 'fixedK' in VARIANTS[entry.variant];
    // A fixed-K variant (sync, async) takes no k; the others take the entry's, else the spec's.
    const k = fixed ? undefined : (('k' in entry ? entry.k : undefined) ?? (raw.k as number | undefined));
    schedules.forEach((schedule, j) => {
      const lr =
        schedule === undefined ? raw.lr : typeof schedule === 'string' ? { ...rawLr, schedule } : schedule;
      const runSpec = renamed(
        (field) =>
          field === 'k' || field === 'variant'
            ? `sim.variants.${i}.${field}`
            : field.startsWith('lr') && sim.schedules
              ? `sim.schedules.${j}${field.slice(2)}`
              : field,
        () => parseJobSpec({ ...raw, variant: entry.variant, k, lr }),
      );
      runs.push({ label: `${runSpec.variant} K=${runSpec.k} ${runSpec.lr.schedule}`, spec: runSpec });
    });
  });
  const labels = new Set(runs.map((r) => r.label));
  if (labels.size !== runs.length) throw new ValidationError('sim.variants', 'lists the same run twice');
  return {
    spec,
    sim: {
      ...sim,
      iterations: sim.iterations ?? spec.stop.maxUpdates,
      staleWork: sim.staleWork as StaleWork,
    },
    runs,
  };
}

/** Rethrows a ValidationError from `parse` with its field renamed. */
function renamed<T>(rename: (field: string) => string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const message = error.field ? error.message.slice(error.field.length + 2) : error.message;
    throw new ValidationError(rename(error.field), message);
  }
}
