import { readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

const LOCK_FILE = 'kasync-stack.pid';

/**
 * Claims `dir` for this process. Two stacks on one data dir would corrupt it, and dynalite
 * reacts to a LevelDB lock held elsewhere by throwing out of its request handler, which
 * takes the whole process down; so the second stack is refused up front. A lock left by a
 * dead process is taken over. Returns the release function.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dir, LOCK_FILE);
  try {
    await writeFile(lockPath, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number(await readFile(lockPath, 'utf8'));
    if (isRunning(holder)) {
      throw new DataDirInUseError(`${dir} is in use by another local stack (pid ${holder})`);
    }
    await unlink(lockPath);
    return lockDataDir(dir);
  }
  return () => unlink(lockPath).catch(() => {});
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
