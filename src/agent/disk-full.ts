import { statfsSync } from 'node:fs';

// A full disk is a fact of life on small hosts, never a reason to crash: the agent tells it apart from other
// failures so it can report it (20, "no space left"), refuse a job it cannot store (503, the bot retries), and
// keep a report it cannot write yet until space allows.

export function isDiskFull(error: unknown, dir?: string): boolean {
  const e = error as { code?: string; errcode?: number; message?: string };
  if (
    e?.code === 'ENOSPC' ||
    e?.code === 'EDQUOT' ||
    e?.errcode === 13 ||
    /disk is full|ENOSPC|no space left/i.test(e?.message ?? '')
  )
    return true;
  // SQLite says "disk I/O error" when a full disk stops it growing its write-ahead log: the device decides.
  return dir !== undefined && /disk I\/O error/i.test(e?.message ?? '') && freeBytes(dir) < MIN_FREE_BYTES;
}

const MIN_FREE_BYTES = 1024 * 1024;

function freeBytes(dir: string): number {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export class DiskFullError extends Error {}
