import type { Command } from 'commander';
import { formatSummary } from '../follow';
import { printResult, readSpec } from '../io';
import { runOnEmbeddedStack } from '../run';

export function register(program: Command): void {
  program
    .command('train')
    .description('run a job spec (JSON or YAML) on an embedded stack started for the run')
    .argument('<spec>', 'job spec file')
    .option('--json', 'print the summary as one JSON object on the last line')
    .option('--data-dir <dir>', 'keep the embedded stack data here')
    .action(async (file: string, opts: { json?: boolean; dataDir?: string }) => {
      const summary = await runOnEmbeddedStack(await readSpec(file), { progress: !opts.json, dataDir: opts.dataDir });
      printResult(summary, opts.json, () => formatSummary(summary));
    });
}
