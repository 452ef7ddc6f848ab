import { z } from 'zod';
import { ValidationError } from './errors';
import { validate } from './validate';
import { VARIANT_NAMES, VARIANTS } from './variants';

// zod 4's z.number() already refuses NaN and +-Infinity (`expected number, received NaN`), and
// `.int()` refuses integers past 2^53 - 1; every bound below is on top of that.
const positive = z.number().positive();
const count = (min: number, max: number) => z.number().int().min(min).max(max);

/** The longest job (`stop.maxSeconds`): 7 days, well inside the 30 days gradient blobs are kept for audits. */
export const MAX_JOB_SECONDS = 7 * 24 * 3600;

/**
 * The longest learner invocation anywhere kasync runs: Lambda's 15 minutes (cdk/learners.ts;
 * the local runtime refuses a longer timeout). A learner sleeps out a straggler delay inside one
 * invocation, so a delay's fixed part (`shift`, the Pareto `scale`) above this can never end
 * there: every invocation would be cut off mid-delay and the job would never move.
 */
export const MAX_INVOCATION_SECONDS = 900;

/**
 * Largest step size (`lr.eta`, `lr.etaMax`). The update is w - eta * g. Measured on the built-in
 * linear models (sim/objective.ts: 500 sequential steps of batch 64 from w0 = 0, held-out loss):
 * of 0.1, 0.4, 1.6, 4 and 10, the best is 0.4 or 0.1 on every built-in dataset; at 10 the loss
 * has climbed most of the way back to the untrained one (MNIST softmax: 1.99, untrained 2.30,
 * 0.34 at 0.4), and at 15 it ends above the untrained one on MNIST and synthetic (spec.test.ts
 * checks the synthetic case). Every best step the decentralized bench finds lies in 0.1-1.6
 * (docs/architecture.md). A step above 10 has nothing left to gain; the absurd ones (1e308)
 * overflow float32 weights to Infinity and commit NaN.
 */
export const MAX_STEP_SIZE = 10;

const stepSize = positive.max(MAX_STEP_SIZE);

const activationSchema = z.enum(['relu', 'tanh', 'sigmoid']);

/** Model zoo entries by `kind`. */
const zooModelSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('softmax') }),
  z.strictObject({ kind: z.literal('logreg') }),
  z.strictObject({
    kind: z.literal('mlp'),
    hidden: z.array(count(1, 4096)).min(1).max(8).optional(),
    activation: activationSchema.optional(),
  }),
  z.strictObject({
    kind: z.literal('cnn'),
    /** Filters of each 3x3 conv + pool layer. */
    channels: z.array(count(1, 512)).min(1).max(4).optional(),
    activation: activationSchema.optional(),
    /** [channels, height, width] of a row; default one channel, square. */
    image: z.tuple([count(1, 64), count(1, 4096), count(1, 4096)]).optional(),
  }),
]);

/** A user's ONNX model, e.g. exported from PyTorch; recognized by its `onnx` key. */
const onnxModelSchema = z
  .strictObject({
    kind: z.literal('onnx').optional(),
    /** A local path (read and uploaded by the CLI) or s3://bucket/key. */
    onnx: z.string().min(1),
    /** The graph input fed with dataset rows; optional when the graph has one. */
    input: z.string().min(1).optional(),
    /** The output the loss applies to (logits or prediction); optional when the graph has one. */
    output: z.string().min(1).optional(),
    loss: z.enum(['cross-entropy', 'mse']).default('cross-entropy'),
  })
  .transform((model) => ({ ...model, kind: 'onnx' as const }));

/**
 * A union's own error says only that no form matched. For an object, report the first problem
 * of the form `objectForm` picks for it, with its path inside the field (e.g. `loss: ...`).
 */
function unionError(expected: string, objectForm: (input: object) => number) {
  return (issue: {
    code?: string;
    input?: unknown;
    errors?: { path: PropertyKey[]; message: string; code: string }[][];
  }) => {
    if (issue.code !== 'invalid_union') return undefined;
    const { input } = issue;
    const first =
      typeof input === 'object' && input !== null ? issue.errors?.[objectForm(input)]?.[0] : undefined;
    return first && first.path.length > 0 && first.code !== 'invalid_union'
      ? `${first.path.join('.')}: ${first.message}`
      : expected;
  };
}

const modelSchema = z.union(
  [
    z.enum(['softmax', 'logreg', 'mlp', 'cnn']).transform((kind) => ({ kind })),
    zooModelSchema,
    onnxModelSchema,
  ],
  {
    error: unionError(
      'expected a built-in model (softmax, logreg, mlp, cnn), {kind, ...options} or {onnx, input, output, loss}',
      (input) => ('onnx' in input ? 2 : 1),
    ),
  },
);

const datasetSchema = z.union(
  [
    z.enum(['mnist', 'synthetic', 'synthetic-binary']),
    z.strictObject({
      /** A local path (read and uploaded by the CLI) or s3://bucket/key of a CSV file with a header row. */
      csv: z.string().min(1),
      /** Header name of the label column: class indices, or regression targets for an MSE model. */
      label: z.string().min(1),
      /** Fraction of rows held out for evaluation. */
      testFraction: z.number().gt(0).lt(1).default(0.2),
    }),
  ],
  {
    error: unionError(
      'expected a built-in dataset (mnist, synthetic, synthetic-binary) or {csv, label, testFraction}',
      () => 1,
    ),
  },
);

/**
 * Exp rate, per second. At the lowest, 0.01 (mean delay 100 s), a delay outlasts a whole
 * invocation (MAX_INVOCATION_SECONDS) with probability e^-9, about 1e-4 per mini-batch; at the
 * highest, 1e6 (mean 1 microsecond), delays are a thousandth of the timers' 1 ms resolution, so
 * every larger rate is the same as no delay. A uniform U < 1 has 1 - U >= 2^-53, so an
 * exponential draw is at most 53 ln 2 / rate: 3,674 s at the lowest rate.
 */
const rate = z.number().min(0.01).max(1e6);
/** A delay's fixed part, seconds: it must fit in one invocation (MAX_INVOCATION_SECONDS). */
const fixedDelay = (schema: z.ZodNumber) => schema.max(MAX_INVOCATION_SECONDS);

const stragglersSchema = z.discriminatedUnion('distribution', [
  z.strictObject({ distribution: z.literal('none') }),
  /** Delay ~ Exp(rate) seconds per mini-batch. */
  z.strictObject({ distribution: z.literal('exp'), rate }),
  /** Delay = shift + Exp(rate) seconds. */
  z.strictObject({ distribution: z.literal('shifted-exp'), shift: fixedDelay(z.number().min(0)), rate }),
  /**
   * Delay ~ Pareto(scale, shape) seconds: at least `scale`. A draw is scale / (1 - U)^(1/shape)
   * <= scale * 2^(53/shape), finite for shape >= 0.1 (2^530; it overflows below 53/1024) and
   * cut at MAX_JOB_SECONDS by the sampler (engine/stragglers.ts). At shape 1000 every draw is
   * within 4% of `scale` (2^0.053): a larger shape is the same constant delay.
   */
  z.strictObject({
    distribution: z.literal('pareto'),
    scale: fixedDelay(positive),
    shape: z.number().min(0.1).max(1000),
  }),
]);

const lrSchema = z.strictObject({
  schedule: z.enum(['constant', 'staleness', 'dutta-joshi']).default('constant'),
  eta: stepSize.default(0.1),
  /**
   * dutta-joshi: eta = min(C / ||w[v] - w[v_i]||^2, etaMax). With etaMax <= 10, a C above 1e6
   * would make the cap bind for every squared distance below 1e5, i.e. the schedule constant.
   */
  C: positive.max(1e6).default(0.005),
  etaMax: stepSize.optional(),
});

export const jobSpecSchema = z
  .strictObject({
    model: modelSchema,
    dataset: datasetSchema,
    variant: z.enum(VARIANT_NAMES as [string, ...string[]]).default('k-async'),
    learners: count(1, 1000).default(4),
    k: count(1, 1000).optional(),
    /** Rows are drawn with replacement (model/datasets.ts sampleBatch), so any size up to this fits any dataset. */
    batchSize: count(1, 4096).default(64),
    lr: lrSchema.default({ schedule: 'constant', eta: 0.1, C: 0.005 }),
    stop: z
      .strictObject({
        /** Versions are 10-digit keys (engine/keys.ts), far above this. */
        maxUpdates: count(1, 10_000_000).default(1000),
        maxSeconds: positive.max(MAX_JOB_SECONDS).default(600),
        targetLoss: positive.optional(),
        targetAccuracy: z.number().gt(0).max(1).optional(),
      })
      .default({ maxUpdates: 1000, maxSeconds: 600 }),
    evalEvery: count(1, 1_000_000).default(25),
    stragglers: stragglersSchema.default({ distribution: 'none' }),
    /**
     * AdaSync (Dutta et al., extended version): K starts at `k` and is re-evaluated every
     * `intervalSeconds` as round(K0 * sqrt(F(w0) / F(wt))), capped at P.
     */
    adasync: z.strictObject({ intervalSeconds: positive.max(3600).default(10) }).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
  })
  .superRefine((spec, ctx) => {
    if (spec.k !== undefined && spec.k > spec.learners) {
      ctx.addIssue({
        code: 'custom',
        path: ['k'],
        message: `k (${spec.k}) must not exceed learners (${spec.learners})`,
      });
    }
  });

type ParsedSpec = z.output<typeof jobSpecSchema>;
export type DatasetSpec = ParsedSpec['dataset'];
export type StragglerSpec = ParsedSpec['stragglers'];
export type LrSpec = ParsedSpec['lr'] & { etaMax: number };

/** A validated job spec with every default filled in and K resolved for the variant. */
export interface JobSpec extends Omit<ParsedSpec, 'k' | 'variant' | 'lr'> {
  readonly variant: keyof typeof VARIANTS;
  readonly k: number;
  readonly lr: LrSpec;
}

/** Validates user input; throws a ValidationError naming the first offending field. */
export function parseJobSpec(input: unknown): JobSpec {
  const parsed = validate(jobSpecSchema, input, '(spec)');
  const variant = parsed.variant as keyof typeof VARIANTS;
  return {
    ...parsed,
    variant,
    k: resolveK(variant, parsed.learners, parsed.k, parsed.adasync !== undefined),
    lr: { ...parsed.lr, etaMax: parsed.lr.etaMax ?? parsed.lr.eta },
  };
}

function resolveK(
  variant: keyof typeof VARIANTS,
  learners: number,
  k: number | undefined,
  adaptive: boolean,
): number {
  const rule = VARIANTS[variant];
  const fixed = 'fixedK' in rule ? (rule.fixedK === 'learners' ? learners : rule.fixedK) : undefined;
  if (fixed === undefined) return k ?? Math.max(1, Math.floor(learners / 2));
  if (adaptive) throw new ValidationError('adasync', `${variant} has a fixed K; AdaSync needs a K-variant`);
  if (k !== undefined && k !== fixed) throw new ValidationError('k', `${variant} always uses k = ${fixed}`);
  return fixed;
}
