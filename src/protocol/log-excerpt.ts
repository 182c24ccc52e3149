// What to show of a report's log tail when there is room for a few lines (`rollouts show`, `agent status`,
// the console): the lines that say why it failed (errors, SQLSTATE, PHP fatals and warnings) first, then the
// end of the log. After a failed update the agent puts the previous version back, and the end of the log is
// that restore's successful run: the cause is further up, and a plain "last N lines" would hide it.

/** The line the agent starts a restore's part of the log with. */
export const RESTORE_MARKER = '-- restoring ';

const CAUSE =
  /\b(erro|error|errors|fatal|exception|uncaught|sqlstate|denied|falha(?:ram|ou)?|failed|fails|warning|not permitted|cannot|refused)\b/i;

export interface LogExcerpt {
  /** Lines of the failed run (before any restore) that name an error, at most `causeLines`. */
  cause: string[];
  /** The last lines of the whole log. */
  tail: string[];
}

export function logExcerpt(logTail: readonly string[], tailLines = 12, causeLines = 6): LogExcerpt {
  const restoreAt = logTail.findIndex((line) => line.startsWith(RESTORE_MARKER));
  const failedRun = restoreAt < 0 ? logTail : logTail.slice(0, restoreAt);
  const tail = logTail.slice(-tailLines);
  const cause = failedRun.filter((line) => CAUSE.test(line) && !line.startsWith('$ ')).slice(-causeLines);
  // A cause already among the last lines is shown once, where it stands.
  return { cause: cause.every((line) => tail.includes(line)) ? [] : cause, tail };
}
