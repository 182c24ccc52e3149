// A full disk is a fact of life on small hosts, never a reason to crash: the agent tells it apart from other
// failures so it can report it (20, "no space left"), refuse a job it cannot store (503, the bot retries), and
// keep a report it cannot write yet until space allows.

export function isDiskFull(error: unknown): boolean {
  const e = error as { code?: string; errcode?: number; message?: string };
  return e?.code === 'ENOSPC' || e?.code === 'EDQUOT' || e?.errcode === 13 || /disk is full|ENOSPC|no space left/i.test(e?.message ?? '');
}

export class DiskFullError extends Error {}
