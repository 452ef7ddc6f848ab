import type { Command } from 'commander';
import { type AuditReport, auditJob } from '../../engine/audit';
import { createClients, storageFromEnv } from '../../engine/aws';
import { checkJobId } from '../../engine/jobs';
import { createStores } from '../../engine/store';
import { startEmbedded } from '../../local/kasync';
import { printResult } from '../io';

export function formatAudit(report: AuditReport): string {
  const { gradients: g } = report;
  const head = report.ok
    ? `audit of ${report.jobId}: OK — ${report.versionsVerified} of ${report.version} versions replayed bit for bit`
    : `audit of ${report.jobId}: FAILED — ${report.versionsVerified} of ${report.version} versions replayed bit for bit`;
  const lines = [
    head,
    `  gradients: ${g.acknowledged} acknowledged, ${g.applied} applied, ${g.pending} pending`,
  ];
  for (const problem of report.problems) lines.push(`  - ${problem}`);
  return lines.join('\n');
}

/**
 * `kasync audit ID`: replays a job's commit log from w[0]. With `--data-dir` it reads an embedded
 * stack's data kept by an earlier `kasync train --data-dir`; without, the stores the standard AWS
 * configuration and KASYNC_BUCKET / KASYNC_TABLE point at. Exit code 1 when the audit fails.
 */
export function register(program: Command): void {
  program
    .command('audit')
    .description('replay a job from w[0]: bit-for-bit weights, no lost or doubly applied gradient')
    .argument('<jobId>')
    .option('--json', 'print the report as one JSON object on the last line')
    .option('--data-dir <dir>', 'the data dir of an embedded stack (kasync train --data-dir)')
    .action(async (jobId: string, opts: { json?: boolean; dataDir?: string }) => {
      checkJobId(jobId);
      let report: AuditReport;
      if (opts.dataDir) {
        const embedded = await startEmbedded({ dataDir: opts.dataDir });
        try {
          report = await auditJob(embedded.stores, jobId);
        } finally {
          await embedded.stop();
        }
      } else {
        report = await auditJob(createStores(createClients(), storageFromEnv()), jobId);
      }
      printResult(report, opts.json, () => formatAudit(report));
      if (!report.ok) process.exitCode = 1;
    });
}
