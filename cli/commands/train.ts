import type { Command } from 'commander';
import type { AuditReport } from '../../engine/audit';
import { ValidationError } from '../../engine/errors';
import type { JobSummary } from '../../engine/summary';
import { ApiClient, endpointOption } from '../client';
import { formatSummary } from '../follow';
import { printResult, readSpec } from '../io';
import { runOnEmbeddedStack, runOnEndpoint } from '../run';
import { anchorLocalPaths } from '../spec-files';
import { formatAudit } from './audit';

export function register(program: Command): void {
  endpointOption(
    program.command('train'),
    'submit to this kasync API instead of an embedded stack started for the run',
  )
    .description('run a job spec (JSON or YAML), follow it with a progress bar, and summarize it')
    .argument('<spec>', 'job spec file')
    .option('--json', 'print the summary as one JSON object on the last line')
    .option('--data-dir <dir>', 'keep the embedded stack data here (without --endpoint)')
    .option('--audit', 'replay the finished job before the embedded stack stops; adds `audit` to the summary')
    .action(
      async (
        file: string,
        opts: { endpoint?: string; json?: boolean; dataDir?: string; audit?: boolean },
      ) => {
        const spec = anchorLocalPaths(await readSpec(file), file);
        const progress = !opts.json;
        if (opts.endpoint && opts.audit) {
          throw new ValidationError(
            '--audit',
            'needs the embedded stack: audit a job on an API with `kasync audit`',
          );
        }
        const { audit, ...summary }: JobSummary & { audit?: AuditReport } = opts.endpoint
          ? await runOnEndpoint(new ApiClient(opts.endpoint), spec, { progress })
          : await runOnEmbeddedStack(spec, { progress, dataDir: opts.dataDir, audit: opts.audit });
        printResult(audit ? { ...summary, audit } : summary, opts.json, () =>
          audit ? `${formatSummary(summary)}\n${formatAudit(audit)}` : formatSummary(summary),
        );
        if (audit && !audit.ok) process.exitCode = 1;
      },
    );
}
