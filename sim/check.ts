import { parseJobSpec } from '../engine/spec';
import { VARIANT_NAMES, VARIANTS, type VariantName } from '../engine/variants';
import { type ClosedForm, closedForm } from './closed-forms';
import { describe as describeDistribution, type TimeDistribution } from './distributions';
import { type SimulationResult, simulate } from './simulator';

/**
 * `kasync simulate --check`: the simulated mean time per iteration against the closed forms of
 * PAPERS.md §1, for every variant over a grid of (P, K, distribution), in the closed forms'
 * setting (zero storage latency, stale work cancelled). Each cell runs a pilot, then enough
 * updates that the standard error is a quarter of the tolerance.
 */
export interface CheckOptions {
  readonly learners?: readonly number[];
  readonly distributions?: readonly TimeDistribution[];
  readonly variants?: readonly VariantName[];
  /** Relative tolerance per distribution (default 2%; 5% for the heavy-tailed Pareto). */
  readonly tolerance?: (dist: TimeDistribution) => number;
  readonly pilotIterations?: number;
  readonly maxIterations?: number;
  readonly seed?: number;
}

export interface CheckRow {
  readonly variant: VariantName;
  readonly learners: number;
  readonly k: number;
  readonly distribution: string;
  readonly simulated: number;
  readonly stdErr: number;
  readonly closedForm: number;
  readonly kind: ClosedForm['kind'];
  readonly formula: string;
  /** simulated / closedForm - 1. */
  readonly relativeError: number;
  readonly tolerance: number;
  readonly iterations: number;
  readonly ok: boolean;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly rows: readonly CheckRow[];
  readonly seconds: number;
}

export const DEFAULT_CHECK_DISTRIBUTIONS: readonly TimeDistribution[] = [
  { distribution: 'exp', rate: 1 },
  { distribution: 'shifted-exp', shift: 1, rate: 1 },
  { distribution: 'pareto', scale: 1, shape: 3 },
];

export const DEFAULT_CHECK_LEARNERS: readonly number[] = [4, 16, 32];

export const defaultTolerance = (dist: TimeDistribution): number =>
  dist.distribution === 'pareto' ? 0.05 : 0.02;

/** The K values of the grid for a variant with P learners: 1, P/4, P/2, P where the variant allows them. */
export function gridKs(variant: VariantName, p: number): number[] {
  const rule = VARIANTS[variant];
  if ('fixedK' in rule) return [rule.fixedK === 'learners' ? p : 1];
  const candidates = [1, Math.floor(p / 4), Math.floor(p / 2), p].filter((k) => k >= 1);
  // k-sync with K = P is sync, K-async with K = 1 is async: those cells are already there.
  const excluded = variant === 'k-sync' ? p : variant === 'k-async' || variant === 'k-batch-async' ? 1 : 0;
  return [...new Set(candidates)].filter((k) => k !== excluded);
}

export function runCheck(options: CheckOptions = {}): CheckReport {
  const started = performance.now();
  const tolerance = options.tolerance ?? defaultTolerance;
  const pilot = options.pilotIterations ?? 4000;
  const maxIterations = options.maxIterations ?? 100_000;
  const rows: CheckRow[] = [];
  for (const dist of options.distributions ?? DEFAULT_CHECK_DISTRIBUTIONS) {
    for (const p of options.learners ?? DEFAULT_CHECK_LEARNERS) {
      for (const variant of options.variants ?? VARIANT_NAMES) {
        for (const k of gridKs(variant, p)) {
          const form = closedForm(variant, p, k, dist);
          if (!form) continue;
          const tol = tolerance(dist);
          const spec = parseJobSpec({
            model: 'softmax',
            dataset: 'synthetic',
            variant,
            learners: p,
            ...('fixedK' in VARIANTS[variant] ? {} : { k }),
            seed: options.seed ?? 1,
          });
          const run = (iterations: number): SimulationResult =>
            simulate({ spec, iterations, computeTime: dist, staleWork: 'cancel' });
          let result = run(pilot);
          // Enough updates for a standard error of a quarter of the tolerance (with 1.5x to spare:
          // the pilot's own estimate of it is noisy).
          const relStdErr = result.iterationTimeStdErr / result.meanIterationTime;
          const needed = Math.min(maxIterations, Math.ceil(1.5 * pilot * (relStdErr / (tol / 4)) ** 2));
          if (needed > pilot) result = run(needed);
          const relativeError = result.meanIterationTime / form.value - 1;
          const ok = form.kind === 'exact' ? Math.abs(relativeError) <= tol : relativeError <= tol;
          rows.push({
            variant,
            learners: p,
            k,
            distribution: describeDistribution(dist),
            simulated: result.meanIterationTime,
            stdErr: result.iterationTimeStdErr,
            closedForm: form.value,
            kind: form.kind,
            formula: form.formula,
            relativeError,
            tolerance: tol,
            iterations: result.iterations,
            ok,
          });
        }
      }
    }
  }
  return { ok: rows.every((r) => r.ok), rows, seconds: (performance.now() - started) / 1000 };
}

export function formatCheck(report: CheckReport): string {
  const header = [
    'distribution',
    'variant',
    'P',
    'K',
    'simulated',
    '± s.e.',
    'closed form',
    'rel. error',
    'tol',
    '',
  ];
  const lines = report.rows.map((r) => [
    r.distribution,
    r.variant,
    String(r.learners),
    String(r.k),
    r.simulated.toPrecision(5),
    r.stdErr.toPrecision(2),
    `${r.closedForm.toPrecision(5)}${r.kind === 'upper-bound' ? ' (bound)' : ''}`,
    `${(r.relativeError * 100).toFixed(2)}%`,
    `${(r.tolerance * 100).toFixed(0)}%`,
    r.ok ? 'ok' : 'MISMATCH',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const worst = report.rows
    .filter((r) => r.kind === 'exact')
    .reduce((m, r) => Math.max(m, Math.abs(r.relativeError)), 0);
  return [
    render(header),
    ...lines.map(render),
    '',
    `${report.rows.length} cells, ${report.rows.filter((r) => !r.ok).length} mismatches, worst exact |error| ${(worst * 100).toFixed(2)}%, ${report.seconds.toFixed(1)} s`,
  ].join('\n');
}
