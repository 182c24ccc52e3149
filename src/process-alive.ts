// Whether a process id belongs to a running process (one we may not signal counts as running): how a lock
// left by a process that died is told from one still held.
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether any process of a process group (an installer started detached, with its children) still runs. */
export function isProcessGroupAlive(pgid: number): boolean {
  return pgid > 0 && isProcessAlive(-pgid);
}
