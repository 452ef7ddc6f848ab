import os from 'node:os';
import { parseJobSpec } from '../engine/spec';
import { loadBuiltinDataset } from '../model/datasets';
import { buildModel } from '../model/zoo';
import { softmaxObjective } from '../sim/objective';
import { simulate } from '../sim/simulator';

/**
 * Issue 7, part 4: P = 1000 learners and 100,000 updates within 10 s of real time on one core
 * (the simulator is single-threaded). Exponential compute times, zero storage latency. Each run
 * prints its real seconds, the process's CPU seconds (the figure to trust on a shared machine:
 * real time there includes waiting for a core), its ratio to the 10 s budget, and events per second.
 */
const P = 1000;
const UPDATES = 100_000;
const BUDGET_SECONDS = 10;

const runs = [
  { variant: 'async', k: undefined, objective: false },
  { variant: 'k-async', k: 10, objective: false },
  { variant: 'k-batch-async', k: 10, objective: false },
  { variant: 'async', k: undefined, objective: true },
  { variant: 'k-async', k: 4, objective: true },
] as const;

const data = loadBuiltinDataset('synthetic');
const initial = buildModel({ kind: 'softmax' }, data).initParams(1);
let worst = 0;
let worstCpu = 0;
process.stdout.write(`P = ${P}, ${UPDATES.toLocaleString('en')} updates, budget ${BUDGET_SECONDS} s\n`);
for (const run of runs) {
  const spec = parseJobSpec({
    model: 'softmax',
    dataset: 'synthetic',
    variant: run.variant,
    learners: P,
    ...(run.k === undefined ? {} : { k: run.k }),
    batchSize: 16,
    evalEvery: 1000,
    lr: { eta: 0.05 },
  });
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const result = simulate({
    spec,
    iterations: UPDATES,
    computeTime: { distribution: 'exp', rate: 1 },
    objective: run.objective ? softmaxObjective(data, spec.batchSize, initial) : undefined,
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  worst = Math.max(worst, seconds);
  worstCpu = Math.max(worstCpu, cpuSeconds);
  const what = `${run.variant} K=${spec.k}${run.objective ? ' + softmax objective (batch 16)' : ' (times only)'}`;
  process.stdout.write(
    `${what.padEnd(48)} ${seconds.toFixed(2).padStart(6)} s (cpu ${cpuSeconds.toFixed(2)} s) = ` +
      `${(seconds / BUDGET_SECONDS).toFixed(2)} x budget  ` +
      `${Math.round(result.events / seconds).toLocaleString('en')} events/s` +
      `${result.finalLoss === null ? '' : `  final loss ${result.finalLoss.toFixed(3)}`}\n`,
  );
}
const verdict = (t: number) => (t <= BUDGET_SECONDS ? 'within' : 'OVER');
process.stdout.write(
  `slowest: ${worst.toFixed(2)} s real (${verdict(worst)} the ${BUDGET_SECONDS} s budget), ` +
    `${worstCpu.toFixed(2)} s cpu (${verdict(worstCpu)}); load average ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} cores\n`,
);
