import { Presets, SingleBar } from 'cli-progress';
import { isFinished } from '../engine/jobs';
import type { JobSpec } from '../engine/spec';
import type { JobSummary } from '../engine/summary';

const POLL_MS = 500;

const fmt = (value: number | null, digits = 3) => (value === null ? '-' : value.toFixed(digits));

/**
 * Polls a job's summary (from the stores or from the API) until the job ends, drawing a progress
 * bar on stderr (stdout stays clean for `--json`). Progress is the furthest of the stop
 * conditions: updates, seconds, and target accuracy.
 */
export async function followJob(
  readSummary: () => Promise<JobSummary>,
  spec: JobSpec,
  showProgress: boolean,
): Promise<JobSummary> {
  const bar = showProgress
    ? new SingleBar(
        {
          format:
            ' {bar} {percentage}% | v{version} | {ups} upd/s | loss {loss} | test acc {acc} | staleness {stale} | {elapsed}s',
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
          // Piped or in CI: a line every few seconds instead of a redrawn bar.
          noTTYOutput: true,
          notTTYSchedule: 3000,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(100, 0, { version: 0, ups: '0', loss: '-', acc: '-', stale: '0', elapsed: '0' });
  try {
    for (;;) {
      const summary = await readSummary();
      bar?.update(Math.round(progressOf(summary, spec) * 100), {
        version: summary.version,
        ups: summary.updatesPerSecond.toFixed(1),
        loss: fmt(summary.loss),
        acc: fmt(summary.testAccuracy),
        stale: summary.staleness.mean.toFixed(2),
        elapsed: summary.elapsedSeconds.toFixed(0),
      });
      if (isFinished(summary)) {
        bar?.update(100);
        return summary;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    bar?.stop();
  }
}

function progressOf(summary: JobSummary, spec: JobSpec): number {
  const { maxUpdates, maxSeconds, targetAccuracy } = spec.stop;
  const parts = [summary.version / maxUpdates, summary.elapsedSeconds / maxSeconds];
  if (targetAccuracy !== undefined && summary.testAccuracy !== null)
    parts.push(summary.testAccuracy / targetAccuracy);
  return Math.min(1, Math.max(...parts));
}

/** A human-readable summary, one field a line. */
export function formatSummary(summary: JobSummary): string {
  const s = summary;
  const rows: [string, string][] = [
    ['job', s.jobId],
    ['status', s.reason ? `${s.status} (${s.reason})` : s.status],
    ['variant', `${s.variant}, P=${s.learners}, K=${s.k}`],
    ['updates', `${s.version} in ${s.elapsedSeconds.toFixed(1)} s (${s.updatesPerSecond.toFixed(2)}/s)`],
    ['train loss', fmt(s.loss, 4)],
    [
      'test accuracy',
      s.testAccuracy === null ? '-' : `${fmt(s.testAccuracy, 4)} (version ${s.evaluatedVersion})`,
    ],
    [
      'gradients',
      `${s.gradients.pushed} pushed, ${s.gradients.applied} applied, ${s.gradients.rejected} rejected, ${s.gradients.pending} pending`,
    ],
    [
      'staleness',
      `mean ${s.staleness.mean.toFixed(2)}, max ${s.staleness.max}, histogram [${s.staleness.histogram.join(', ')}]`,
    ],
    ['cold starts', String(s.coldStarts)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
