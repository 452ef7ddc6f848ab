import type { Command } from 'commander';
import { ApiClient, DEFAULT_ENDPOINT, endpointOption } from '../client';
import { printResult } from '../io';

export function register(program: Command): void {
  endpointOption(program.command('jobs'), `kasync API (default ${DEFAULT_ENDPOINT})`)
    .description('list the jobs of a kasync API, newest first')
    .option('--json', 'print the list as one JSON object on the last line')
    .action(async (opts: { endpoint?: string; json?: boolean }) => {
      const list = await new ApiClient(opts.endpoint ?? DEFAULT_ENDPOINT).jobs();
      printResult(list, opts.json, () => {
        if (list.jobs.length === 0) return 'no jobs';
        const rows = list.jobs.map((j) => [
          j.jobId,
          j.status,
          `${j.variant} ${j.model}/${j.dataset}`,
          `P=${j.learners} K=${j.k}`,
          `v${j.version}`,
          j.testAccuracy === null ? '-' : `acc ${j.testAccuracy.toFixed(3)}`,
          new Date(j.createdAt).toISOString(),
        ]);
        const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
        return rows
          .map((row) =>
            row
              .map((cell, col) => cell.padEnd(widths[col]))
              .join('  ')
              .trimEnd(),
          )
          .join('\n');
      });
    });
}
