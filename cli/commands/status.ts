import type { Command } from 'commander';
import { ApiClient, DEFAULT_ENDPOINT, endpointOption } from '../client';
import { formatSummary } from '../follow';
import { printResult } from '../io';

export function register(program: Command): void {
  endpointOption(program.command('status'), `kasync API (default ${DEFAULT_ENDPOINT})`)
    .description("print a job's summary")
    .argument('<id>', 'job id')
    .option('--json', 'print the summary as one JSON object on the last line')
    .action(async (jobId: string, opts: { endpoint?: string; json?: boolean }) => {
      const summary = await new ApiClient(opts.endpoint ?? DEFAULT_ENDPOINT).summary(jobId);
      printResult(summary, opts.json, () => formatSummary(summary));
    });
}
