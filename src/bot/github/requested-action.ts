import { ActionRefused, approve, retry, rollback, type OperatorDeps } from '../rollout/operator-actions.ts';
import { approveWave, resumeRollout, startNextWave } from '../rollout/rollout-control.ts';
import { rolloutOfCheckRun } from '../store/rollouts.ts';
import type { RequestedAction } from './rollout-summary.ts';

// A button pressed on a rollout's check run (GitHub shows them to people who may write to the repository):
// the same operator actions as the CLI's, recorded as done by that GitHub user.

export interface RequestedActionEvent {
  checkRunId: number;
  externalId: string | null;
  repository: string;
  identifier: string;
  login: string;
}

export async function handleRequestedAction(deps: OperatorDeps, event: RequestedActionEvent): Promise<string> {
  const rollout = await rolloutOfCheckRun(deps.db, event.checkRunId, event.externalId);
  if (!rollout || rollout.repository !== event.repository) return 'not a rollout of this bot';
  const by = `${event.login} (GitHub)`;
  try {
    const result = await (async () => {
      switch (event.identifier as RequestedAction) {
        case 'approve-all':
          return approve(deps, rollout.id, { by });
        case 'retry-failed':
          return retry(deps, rollout.id, { by });
        case 'rollback':
          return rollback(deps, rollout.id, { by });
        case 'resume':
          return resumeRollout(deps, rollout.id, by);
        case 'next-wave':
          return startNextWave(deps, rollout.id, by);
        case 'approve-wave':
          return approveWave(deps, rollout.id, by);
      }
      return undefined;
    })();
    if (!result) return `unknown action "${event.identifier}"`;
    if ('state' in result) return `${event.identifier}: ${result.state}, wave ${result.currentWave + 1}`;
    return `${event.identifier}: ${result.changed.length} job(s)${result.rolloutId !== rollout.id ? ` in ${result.rolloutId}` : ''}`;
  } catch (error) {
    if (error instanceof ActionRefused) return `${event.identifier} refused: ${error.message}`;
    throw error;
  }
}
