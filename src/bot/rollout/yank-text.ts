import { printable } from '../../printable.ts';
import type { YankResult } from './yank.ts';

// What a yank or un-yank did, in words: the CLI prints these lines, the console shows them joined.

/** What a yank or un-yank did, in words. */
export function yankText(action: string, result: YankResult): string[] {
  const what = `${printable(result.release.pluginId)} ${printable(result.release.version)}`;
  const rollout = result.rollout ? `rollout ${result.rollout.id} is ${result.rollout.state}` : 'it has no rollout';
  if (action === 'unyank')
    return [
      result.changed ? `${what} is no longer yanked; ${rollout}` : `${what} was not yanked: nothing changed`,
      ...(result.changed && result.rollout?.state === 'paused'
        ? [`resume it to go on: c2f-plugin rollouts resume ${result.rollout.id}`]
        : []),
    ];
  const lines = [
    result.changed
      ? `${what} yanked: ${rollout}; ${result.held} unsent job(s) held, ${result.cancelled} rollback job(s) to it cancelled`
      : `${what} was already yanked${result.yanked?.by ? ` by ${printable(result.yanked.by)}` : ''}: nothing changed`,
  ];
  if (result.underway) lines.push(`${result.underway} job(s) were already on their way or running: they go on`);
  if (result.rollback)
    lines.push(
      `rollback rollout ${result.rollback.rolloutId}${result.rollback.created ? '' : ' (already open)'}: ${result.rollback.changed.length} host(s) return to their previous version`,
    );
  if (result.rollbackSkipped) lines.push(`nothing rolled back: ${printable(result.rollbackSkipped)}`);
  return lines;
}
