import { z } from 'zod';
import { ValidationError } from './errors';
import { validate } from './validate';
import { VARIANT_NAMES, VARIANTS } from './variants';

const positive = z.number().positive();
const count = (min: number, max: number) => z.number().int().min(min).max(max);

const modelSchema = z.union([
  z.enum(['softmax', 'logreg', 'mlp']).transform((kind) => ({ kind })),
  z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('softmax') }),
    z.strictObject({ kind: z.literal('logreg') }),
    z.strictObject({
      kind: z.literal('mlp'),
      hidden: z.array(count(1, 4096)).min(1).max(8).optional(),
      activation: z.enum(['relu', 'tanh', 'sigmoid']).optional(),
    }),
  ]),
]);

const stragglersSchema = z.discriminatedUnion('distribution', [
  z.strictObject({ distribution: z.literal('none') }),
  /** Delay ~ Exp(rate) seconds per mini-batch. */
  z.strictObject({ distribution: z.literal('exp'), rate: positive }),
  /** Delay = shift + Exp(rate) seconds. */
  z.strictObject({ distribution: z.literal('shifted-exp'), shift: z.number().min(0), rate: positive }),
  /** Delay ~ Pareto(scale, shape) seconds. */
  z.strictObject({ distribution: z.literal('pareto'), scale: positive, shape: positive }),
]);

const lrSchema = z.strictObject({
  schedule: z.enum(['constant', 'staleness', 'dutta-joshi']).default('constant'),
  eta: positive.default(0.1),
  /** dutta-joshi: eta = min(C / ||w[v] - w[v_i]||^2, etaMax). */
  C: positive.default(0.005),
  etaMax: positive.optional(),
});

export const jobSpecSchema = z
  .strictObject({
    model: modelSchema,
    dataset: z.enum(['mnist', 'synthetic']),
    variant: z.enum(VARIANT_NAMES as [string, ...string[]]).default('k-async'),
    learners: count(1, 1000).default(4),
    k: count(1, 1000).optional(),
    batchSize: count(1, 4096).default(64),
    lr: lrSchema.default({ schedule: 'constant', eta: 0.1, C: 0.005 }),
    stop: z
      .strictObject({
        maxUpdates: count(1, 10_000_000).default(1000),
        maxSeconds: positive.max(7 * 24 * 3600).default(600),
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
export type ModelSpec = ParsedSpec['model'];
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
