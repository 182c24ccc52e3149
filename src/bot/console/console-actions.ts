import {
  approve,
  cancel,
  force,
  retry,
  rollback,
  uninstall,
  type ActionResult,
  type OperatorDeps,
} from '../rollout/operator-actions.ts';
import {
  abortRollout,
  approveWave,
  parseStartTime,
  scheduleRollout,
  pauseRollout,
  resumeRollout,
  startNextWave,
  type ControlResult,
} from '../rollout/rollout-control.ts';
import { getHost } from '../store/hosts.ts';
import { getJob, getRollout } from '../store/rollouts.ts';
import { ActionRefused } from '../rollout/operator-actions.ts';

// What a console button does: first the question the confirmation page asks, then, confirmed, the operator
// action itself (the functions the admin API and the CLI call), with what to tell the operator.

export type Planned =
  | { kind: 'confirm'; question: string; danger: boolean }
  | { kind: 'done'; rolloutId: string; done: string; related?: string };

const QUESTIONS: Record<string, [all: string, one: string, danger: boolean]> = {
  approve: ['Install on every host of this rollout that waits for approval?', 'Install on {host} now?', false],
  retry: [
    'Send every failed and dead-lettered job of this rollout again?',
    'Send the job of {host} again, as a new attempt?',
    false,
  ],
  cancel: ['Cancel every job of this rollout that has not started on its host?', 'Cancel the job of {host}?', true],
  force: ['', 'Install this release on {host} even if it is the same package or a downgrade?', true],
  rollback: [
    'Return every host this rollout updated (or failed) to the version it had before?',
    'Return {host} to the version it had before this rollout?',
    true,
  ],
  pause: ['Pause this rollout? Nothing more is sent until it is resumed.', '', false],
  resume: ['Resume this rollout? A halted rollout goes on past the wave that halted it.', '', false],
  'next-wave': ["Start this rollout's next wave now, whatever the current wave's thresholds and soak?", '', true],
  'approve-wave': [
    'Let the wave this rollout reached start? Its hosts get their jobs as their holds allow.',
    '',
    false,
  ],
  schedule: ['Schedule this rollout to start at {at}? Nothing of it goes out before then.', '', false],
  unschedule: ["Lift this rollout's schedule? What it held goes out as its other holds allow.", '', false],
  abort: ['Abort this rollout? Nothing more is ever sent for it.', '', true],
  'abort-rollback': ['Abort this rollout and return the hosts it updated to what they had?', '', true],
};

export async function consoleAction(
  deps: OperatorDeps,
  rolloutId: string,
  action: string,
  jobId: string | undefined,
  by: string,
  confirmed: boolean,
  at: string | null = null,
): Promise<Planned> {
  const question = QUESTIONS[action];
  const startAt = action === 'schedule' ? parseStartTime(at ?? '') : null;
  if (action === 'schedule' && !startAt) throw new ActionRefused('say when the rollout starts', 422);
  if (!question) throw new ActionRefused(`unknown action "${action}"`, 422);
  const rollout = await getRollout(deps.db, rolloutId);
  if (!rollout) throw new ActionRefused(`no rollout ${rolloutId}`, 404);
  const job = jobId ? await getJob(deps.db, jobId) : undefined;
  if (jobId && (!job || job.rolloutId !== rolloutId))
    throw new ActionRefused(`no job ${jobId} in rollout ${rolloutId}`, 404);
  const text = job ? question[1] : question[0];
  if (!text) throw new ActionRefused(job ? `${action} acts on the whole rollout` : `${action} needs a job`, 422);
  if (!confirmed) {
    const host = job ? ((await getHost(deps.db, job.hostId))?.name ?? job.hostId) : '';
    return {
      kind: 'confirm',
      question: `${text.replace('{host}', host).replace('{at}', startAt ? `${startAt.toISOString().replace('T', ' ').slice(0, 16)} UTC` : '')} (${rollout.pluginId} ${rollout.version}, ${rollout.id})`,
      danger: question[2],
    };
  }
  const jobIds = job ? [job.id] : undefined;
  let result: ActionResult | ControlResult;
  switch (action) {
    case 'approve':
      result = await approve(deps, rolloutId, { by, jobIds });
      break;
    case 'retry':
      result = await retry(deps, rolloutId, { by, jobIds });
      break;
    case 'cancel':
      result = await cancel(deps, rolloutId, { by, jobIds });
      break;
    case 'force':
      result = await force(deps, rolloutId, { by, jobIds });
      break;
    case 'rollback':
      result = await rollback(deps, rolloutId, { by, hostIds: job ? [job.hostId] : undefined });
      break;
    case 'pause':
      result = await pauseRollout(deps, rolloutId, by);
      break;
    case 'resume':
      result = await resumeRollout(deps, rolloutId, by);
      break;
    case 'next-wave':
      result = await startNextWave(deps, rolloutId, by);
      break;
    case 'approve-wave':
      result = await approveWave(deps, rolloutId, by);
      break;
    case 'schedule':
    case 'unschedule':
      result = await scheduleRollout(deps, rolloutId, startAt, by);
      break;
    default:
      result = await abortRollout(deps, rolloutId, by, { rollback: action === 'abort-rollback' });
  }
  return { kind: 'done', ...describe(action, rolloutId, result) };
}

const NOTHING_TO_DO: Record<string, string> = {
  approve: 'no job was awaiting approval',
  retry: 'no job had failed, been dead-lettered, skipped or cancelled',
  cancel: 'no job was still unsent',
  force: 'no job could be forced',
  rollback: 'no host had been updated by it',
};

function describe(
  action: string,
  rolloutId: string,
  result: ActionResult | ControlResult,
): { rolloutId: string; done: string; related?: string } {
  if ('state' in result)
    return { rolloutId, done: describeControl(action, result), related: result.rollback?.rolloutId };
  const why = result.unchanged
    .map((u) => u.why)
    .slice(0, 3)
    .join('; ');
  if (result.rolloutId !== rolloutId)
    return { rolloutId: result.rolloutId, done: `${action}: ${result.changed.length} job(s) in this new rollout` };
  if (!result.changed.length)
    return {
      rolloutId,
      done: `${action}: nothing changed: ${why || NOTHING_TO_DO[action] || 'no job in a state it acts on'}`,
    };
  return { rolloutId, done: `${action}: ${result.changed.length} job(s) changed${why ? `; left alone: ${why}` : ''}` };
}

/** A whole-rollout action in words: where the rollout stands, what moved, and where a rollback it started is. */
function describeControl(action: string, result: ControlResult): string {
  const where = `the rollout is ${result.state}, wave ${result.currentWave + 1}`;
  const moved: Record<string, string> = {
    pause: `${result.jobs} unsent job(s) held`,
    resume: `${result.jobs} held job(s) released`,
    'next-wave': 'its jobs go out as the controller releases them (watch the jobs below)',
    'approve-wave': `${result.jobs} job(s) of the wave go out as the controller releases them`,
    schedule: `${result.jobs} job(s) held until ${result.startAt}`,
    unschedule: 'what the schedule held goes out as its other holds allow',
    abort: `${result.jobs} unsent job(s) cancelled`,
    'abort-rollback': `${result.jobs} unsent job(s) cancelled`,
  };
  const rollback = result.rollback
    ? `; rollback rollout ${result.rollback.rolloutId} returns ${result.rollback.changed.length} host(s) to what they had`
    : '';
  const noRollback =
    action === 'abort-rollback' && !result.rollback ? '; no host had been updated, so nothing to roll back' : '';
  return `${action}: ${where}; ${moved[action] ?? `${result.jobs} job(s) changed`}${rollback}${noRollback}`;
}

export async function uninstallAction(
  deps: OperatorDeps,
  hostId: string,
  pluginId: string,
  by: string,
  confirmed: boolean,
): Promise<Planned> {
  const host = await getHost(deps.db, hostId);
  if (!host) throw new ActionRefused(`no host ${hostId}`, 404);
  if (!confirmed) {
    return {
      kind: 'confirm',
      question: `Remove ${pluginId} from ${host.name}'s site? Its files go (a copy is kept on the host); Conn2Flow cannot undo the data rows and migrations it added.`,
      danger: true,
    };
  }
  const result = await uninstall(deps, hostId, { by, pluginId });
  return {
    kind: 'done',
    rolloutId: result.rolloutId,
    done: `uninstall: ${result.changed.length} job(s) in this rollout`,
  };
}
