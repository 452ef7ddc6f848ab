import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ValidationError } from '../../engine/errors';
import { type CheckOptions, DEFAULT_CHECK_LEARNERS, formatCheck, runCheck } from '../../sim/check';
import { curvesToCsv, curvesToSvg } from '../../sim/report';
import { type RunSummary, runPlan } from '../../sim/run';
import { parseSimulationSpec } from '../../sim/spec';
import { printResult, readSpec } from '../io';

interface SimulateOptions {
  readonly check?: boolean;
  readonly json?: boolean;
  readonly out?: string;
  readonly learners?: string;
  readonly tolerance?: string;
  readonly maxIterations?: string;
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'simulate a job spec on a virtual clock (a job spec plus "sim": iterations, computeTime, storageLatency, ...), ' +
        "or with --check compare the simulator with the paper's closed forms",
    )
    .argument('[spec]', 'simulation spec file (JSON or YAML)')
    .option(
      '--check',
      'simulated time per iteration against the closed forms over a (P, K, distribution) grid; exit 1 on a mismatch',
    )
    .option('--json', 'print the results as one JSON object on the last line')
    .option('--out <prefix>', 'write <prefix>.csv and <prefix>.svg (default: the spec file name with ".sim")')
    .option(
      '--learners <list>',
      `--check: the values of P, comma-separated (default ${DEFAULT_CHECK_LEARNERS.join(',')})`,
    )
    .option(
      '--tolerance <fraction>',
      '--check: relative tolerance for exp and shifted-exp (default 0.02; Pareto gets 2.5x)',
    )
    .option('--max-iterations <n>', '--check: most updates simulated per cell (default 100000)')
    .action(async (file: string | undefined, opts: SimulateOptions) => {
      if (opts.check) {
        if (file !== undefined) throw new ValidationError('spec', '--check takes no spec');
        const report = runCheck(checkOptions(opts));
        printResult(report, opts.json, () => formatCheck(report));
        if (!report.ok) process.exitCode = 1;
        return;
      }
      if (file === undefined)
        throw new ValidationError('spec', 'missing: give a simulation spec, or --check');
      const plan = parseSimulationSpec(await readSpec(file));
      const { results, curves } = runPlan(plan);
      let files: { csv: string; svg: string } | undefined;
      if (plan.sim.objective) {
        const prefix =
          opts.out ?? path.join(path.dirname(file), `${path.basename(file, path.extname(file))}.sim`);
        files = { csv: `${prefix}.csv`, svg: `${prefix}.svg` };
        const title = `${plan.spec.model.kind} on ${plan.spec.dataset}, P = ${plan.spec.learners}: held-out loss (simulated)`;
        await Promise.all([
          writeFile(files.csv, curvesToCsv(curves)),
          writeFile(files.svg, curvesToSvg(curves, title)),
        ]);
      }
      printResult({ results, csv: files?.csv ?? null, svg: files?.svg ?? null }, opts.json, () =>
        formatResults(results, files),
      );
    });
}

function checkOptions(opts: SimulateOptions): CheckOptions {
  let learners: number[] | undefined;
  if (opts.learners !== undefined) {
    learners = opts.learners.split(',').map((item) => Number(item.trim()));
    if (!learners.every((p) => Number.isInteger(p) && p >= 1 && p <= 1000)) {
      throw new ValidationError('--learners', `"${opts.learners}" is not a list of integers in [1, 1000]`);
    }
  }
  let tolerance: CheckOptions['tolerance'];
  if (opts.tolerance !== undefined) {
    const value = Number(opts.tolerance);
    if (!(value > 0 && value < 1))
      throw new ValidationError('--tolerance', `"${opts.tolerance}" is not a fraction in (0, 1)`);
    tolerance = (dist) => (dist.distribution === 'pareto' ? 2.5 * value : value);
  }
  let maxIterations: number | undefined;
  if (opts.maxIterations !== undefined) {
    maxIterations = Number(opts.maxIterations);
    if (!(Number.isInteger(maxIterations) && maxIterations >= 100)) {
      throw new ValidationError('--max-iterations', `"${opts.maxIterations}" is not an integer >= 100`);
    }
  }
  return {
    learners,
    tolerance,
    maxIterations,
    pilotIterations: maxIterations && Math.min(4000, maxIterations),
  };
}

function formatResults(
  results: readonly RunSummary[],
  files: { csv: string; svg: string } | undefined,
): string {
  const header = [
    'run',
    'P',
    's/iteration',
    'closed form',
    'error',
    'updates/s',
    'staleness',
    'final loss',
    'accuracy',
  ];
  const rows = results.map((r) => [
    r.label,
    String(r.learners),
    r.meanIterationTime.toPrecision(4),
    r.closedForm === null
      ? '-'
      : `${r.closedForm.toPrecision(4)}${r.closedFormKind === 'upper-bound' ? ' (bound)' : ''}`,
    r.closedForm === null ? '-' : `${((r.meanIterationTime / r.closedForm - 1) * 100).toFixed(2)}%`,
    r.updatesPerSecond.toPrecision(4),
    r.staleness.mean.toFixed(2),
    r.finalLoss === null ? '-' : r.finalLoss.toFixed(4),
    r.finalAccuracy === null ? '-' : r.finalAccuracy.toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const lines = [render(header), ...rows.map(render)];
  if (files) lines.push('', `error against wall-clock time: ${files.csv}, ${files.svg}`);
  return lines.join('\n');
}
