import { readdirSync, readFileSync } from 'node:fs';

// Whether a process id belongs to a running process (one we may not signal counts as running): how a lock
// left by a process that died is told from one still held. A process that died but was not yet reaped by
// its parent (a zombie: `kill -9` of an agent whose supervisor has not waited for it yet) still answers a
// signal, so on Linux its state is read too: a zombie is dead.

/** The state letter and process group of a process from /proc (undefined where there is no /proc or no such process). */
function procStat(pid: number | string): { state: string; pgrp: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , pgrp] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state, pgrp: Number(pgrp) };
  } catch {
    return undefined;
  }
}

const dead = (state: string | undefined) => state === 'Z' || state === 'X';

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !dead(procStat(pid)?.state);
}

/** Whether any process of a process group (an installer started detached, with its children) still runs. */
export function isProcessGroupAlive(pgid: number): boolean {
  if (pgid <= 0) return false;
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true; // no /proc: the signal's answer is all there is
  }
  return pids.some((pid) => {
    const stat = procStat(pid);
    return stat !== undefined && stat.pgrp === pgid && !dead(stat.state);
  });
}
