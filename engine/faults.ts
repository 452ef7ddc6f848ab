import { closeSync, openSync } from 'node:fs';

/**
 * Crash points for fault-injection tests (like etcd's failpoints). With
 * `KASYNC_CRASH_AT=<point>` and `KASYNC_CRASH_TOKEN=<path>`, the first process of all those
 * sharing the token that reaches `<point>` kills itself with SIGKILL — no cleanup, no finally
 * blocks, exactly like a Lambda container that vanishes. Creating the token file is the atomic
 * "first": every other process passes on. Unset, a crash point costs one property read.
 */
export const CrashPoint = {
  /** The aggregator wrote w[v+1] and the commit record but not the version: the mid-commit death. */
  beforeCommit: 'before-commit',
  /** A gradient was acknowledged (arrival accepted) and nothing after it happened. */
  afterArrival: 'after-arrival',
} as const;
export type CrashPoint = (typeof CrashPoint)[keyof typeof CrashPoint];

export function crashPoint(point: CrashPoint): void {
  if (process.env.KASYNC_CRASH_AT !== point) return;
  const token = process.env.KASYNC_CRASH_TOKEN;
  if (!token) throw new Error('KASYNC_CRASH_AT needs KASYNC_CRASH_TOKEN');
  try {
    closeSync(openSync(token, 'wx'));
  } catch {
    return; // another process crashed here already
  }
  process.kill(process.pid, 'SIGKILL');
}
