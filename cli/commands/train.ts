import type { Command } from 'commander';
import { ApiClient, endpointOption } from '../client';
import { formatSummary } from '../follow';
import { printResult, readSpec } from '../io';
import { runOnEmbeddedStack, runOnEndpoint } from '../run';

export function register(program: Command): void {
  endpointOption(
    program.command('train'),
    'submit to this kasync API instead of an embedded stack started for the run',
  )
    .description('run a job spec (JSON or YAML), follow it with a progress bar, and summarize it')
    .argument('<spec>', 'job spec file')
    .option('--json', 'print the summary as one JSON object on the last line')
    .option('--data-dir <dir>', 'keep the embedded stack data here (without --endpoint)')
    .action(async (file: string, opts: { endpoint?: string; json?: boolean; dataDir?: string }) => {
      const spec = await readSpec(file);
      const progress = !opts.json;
      const summary = opts.endpoint
        ? await runOnEndpoint(new ApiClient(opts.endpoint), spec, { progress })
        : await runOnEmbeddedStack(spec, { progress, dataDir: opts.dataDir });
      printResult(summary, opts.json, () => formatSummary(summary));
    });
}
