import { FINAL_JOB_STATES } from '../../protocol/statuses.ts';
import { printable } from '../../printable.ts';
import type { HostRecord } from '../store/hosts.ts';
import type { ReleaseRow } from '../store/releases.ts';
import type { HostJob, RolloutRow } from '../store/rollouts.ts';
import { waveSummaries } from '../rollout/wave-summary.ts';

// What a rollout's check run shows: one row per host (policy, state, version, exit code and label, time),
// the host's message and installer log for every failure, the run's status and conclusion, and the buttons
// an operator can press from GitHub. Pure: store rows in, check-run fields out.

export interface CheckRunAction {
  label: string;
  description: string;
  identifier: RequestedAction;
}

export interface CheckRunView {
  title: string;
  summary: string;
  text?: string;
  status: 'in_progress' | 'completed';
  conclusion?: Conclusion;
  actions: CheckRunAction[];
}

export type Conclusion = 'success' | 'failure' | 'neutral' | 'cancelled';

/**
 * How a finished rollout ends on GitHub: aborted is cancelled; any host that failed or was blocked (a missing
 * dependency, an incompatible site) is a failure; otherwise success when a host was updated, neutral when none
 * needed anything (all skipped or superseded by a newer release).
 */
export function conclusionOf(
  state: RolloutRow['state'] | undefined,
  counts: { ok: number; failed: number; blocked: number },
): Conclusion {
  if (state === 'aborted') return 'cancelled';
  if (counts.failed || counts.blocked) return 'failure';
  return counts.ok ? 'success' : 'neutral';
}

/** The identifiers GitHub sends back in check_run.requested_action (at most 20 characters). */
export type RequestedAction = 'approve-all' | 'retry-failed' | 'rollback' | 'resume' | 'next-wave' | 'approve-wave';

/** GitHub's limits on a check run's output. */
const MAX_SUMMARY = 65_000;
const MAX_TEXT = 65_000;
const LOG_LINES_SHOWN = 20;

/**
 * Text from hosts and GitHub as literal Markdown: GitHub renders a check run's summary and text as Markdown
 * (links and images included, HTML partly), so every character that could start markup is escaped.
 */
export function markdownText(text: string): string {
  return printable(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]()!|~]/g, (c) => `\\${c}`)
    .replace(/^#/gm, '\\#');
}

const cell = (text: string) => markdownText(text).replace(/\n/g, ' ');

export function rolloutTitle(rollout: Pick<RolloutRow, 'kind' | 'pluginId' | 'version'>): string {
  if (rollout.kind === 'rollback') return `Conn2Flow rollback: ${rollout.pluginId} ${rollout.version}`;
  if (rollout.kind === 'uninstall') return `Conn2Flow uninstall: ${rollout.pluginId}`;
  return `Conn2Flow rollout: ${rollout.pluginId} ${rollout.version}`;
}

type RolloutShown = Pick<RolloutRow, 'kind' | 'pluginId' | 'version'> & Partial<RolloutRow>;

const DONE_VERB = { release: 'updated', rollback: 'rolled back', uninstall: 'uninstalled' } as const;

export function rolloutView(
  rollout: RolloutShown,
  jobs: readonly HostJob[],
  hosts: ReadonlyMap<string, HostRecord>,
): CheckRunView {
  const count = (states: string[]) => jobs.filter((j) => states.includes(j.state)).length;
  const ok = count(['ok']);
  const failed = count(['failed', 'dead_lettered']);
  const waiting = count(['awaiting_approval']);
  const held = count(['pending']);
  const blocked = count(['blocked']);
  // Every job ended (a newer release may have superseded a halted rollout's held jobs): the run is over.
  const done = jobs.every((j) => FINAL_JOB_STATES.has(j.state));
  const superseded = count(['superseded']);
  const waves = rollout.strategy ? waveSummaries(rollout as RolloutRow, jobs) : [];
  const name = (job: HostJob) => hosts.get(job.hostId)?.name ?? job.hostId;
  const rows = jobs.map((job) => {
    const host = hosts.get(job.hostId);
    const exit = job.exitCode === null ? '' : `${job.exitCode} ${job.exitLabel ?? ''}`.trim();
    const wave = waves.length ? `${job.wave + 1} | ` : '';
    return `| ${cell(name(job))} | ${host?.policy ?? ''} | ${wave}${job.action} | ${job.state}${job.reason ? ` (${cell(job.reason)})` : ''} | ${cell(job.installedVersion ?? '')} | ${cell(exit)} | ${job.updatedAt.replace('T', ' ').slice(0, 19)} |`;
  });
  const waveRows = waves.map(
    (w) =>
      `| ${w.wave} ${cell(w.name)} | ${cell(w.selects)} | ${w.state.replace('_', ' ')}${w.approvalRequired ? ' (approval required)' : ''}${w.soakUntil ? ` until ${w.soakUntil.replace('T', ' ').slice(0, 19)}` : ''} | ${w.ok} ok, ${w.failed} failed, ${w.pending} held of ${w.jobs} | ${w.successThreshold} | ${w.errorThreshold} |`,
  );
  const state =
    rollout.state === 'halted' || rollout.state === 'paused' || rollout.state === 'aborted'
      ? [`**Rollout ${rollout.state}**${rollout.stateReason ? `: ${cell(rollout.stateReason)}` : ''}`, '']
      : [];
  const what =
    rollout.kind === 'release'
      ? `${rollout.pluginId} ${rollout.version}`
      : `${rollout.kind} of ${rollout.pluginId} ${rollout.version}`;
  const summary = [
    ...state,
    `**${what}**: ${jobs.length} host${jobs.length === 1 ? '' : 's'}, ${ok} ok, ${failed} failed, ${waiting ? `${waiting} awaiting approval, ` : ''}${held ? `${held} held, ` : ''}${blocked ? `${blocked} blocked by a dependency, ` : ''}${jobs.length - count([...FINAL_JOB_STATES]) - waiting - held} in progress.`,
    '',
    ...(waves.length
      ? [
          '| Wave | Hosts | State | Jobs | Continue at | Halt at |',
          '| --- | --- | --- | --- | --- | --- |',
          ...waveRows,
          '',
        ]
      : []),
    waves.length
      ? '| Host | Policy | Wave | Action | State | Version | Exit code | Updated (UTC) |'
      : '| Host | Policy | Action | State | Version | Exit code | Updated (UTC) |',
    waves.length ? '| --- | --- | --- | --- | --- | --- | --- | --- |' : '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ]
    .join('\n')
    .slice(0, MAX_SUMMARY);
  const failures = jobs.filter(
    (j) => (j.state === 'failed' || j.state === 'dead_lettered') && (j.message || j.logTail.length),
  );
  const text = failures.length
    ? failures
        .map((job) =>
          [
            `### ${markdownText(name(job))}: ${job.exitCode ?? ''} ${markdownText(job.exitLabel ?? '')}`.trimEnd(),
            '',
            markdownText(job.message ?? job.reason ?? ''),
            ...(job.logTail.length
              ? [
                  '',
                  '```',
                  ...job.logTail.slice(-LOG_LINES_SHOWN).map((line) => printable(line).replace(/```/g, "'''")),
                  '```',
                ]
              : []),
          ].join('\n'),
        )
        .join('\n\n')
        .slice(0, MAX_TEXT)
    : undefined;
  const actions: CheckRunAction[] = [];
  if (rollout.kind === 'release') {
    if (waiting)
      actions.push({
        label: 'Approve all',
        description: `Install on the ${waiting} waiting host${waiting === 1 ? '' : 's'}`,
        identifier: 'approve-all',
      });
    if (failed)
      actions.push({
        label: 'Retry failed',
        description: `Send the ${failed} failed job${failed === 1 ? '' : 's'} again`,
        identifier: 'retry-failed',
      });
    if (ok || failed)
      actions.push({
        label: 'Roll back',
        description: 'Return updated hosts to what they had',
        identifier: 'rollback',
      });
    const gate = waves.find((w) => w.state === 'awaiting_approval');
    if (gate)
      actions.push({
        label: 'Approve wave',
        description: `Let wave ${gate.wave} (${gate.name}) start`.slice(0, 40),
        identifier: 'approve-wave',
      });
    if (rollout.state === 'halted' || rollout.state === 'paused')
      actions.push({ label: 'Resume', description: 'Go on past what stopped the rollout', identifier: 'resume' });
    else if (waves.length && rollout.state === 'running' && (rollout.currentWave ?? 0) + 1 < waves.length)
      actions.push({ label: 'Next wave', description: 'Start the next wave now', identifier: 'next-wave' });
  }
  const verb = DONE_VERB[rollout.kind];
  const ended = [
    failed ? `${failed} failed` : '',
    blocked ? `${blocked} blocked` : '',
    superseded ? `${superseded} superseded` : '',
  ].filter(Boolean);
  const progress = `${rollout.kind === 'release' ? 'rolling out' : `${rollout.kind} in progress`}${waves.length ? ` (wave ${(rollout.currentWave ?? 0) + 1} of ${waves.length})` : ''}`;
  let title = `${progress}: ${ok} of ${jobs.length} hosts done${waiting ? `, ${waiting} awaiting approval` : ''}${held ? `, ${held} held` : ''}`;
  const stopped =
    rollout.state === 'halted' || rollout.state === 'paused'
      ? ` (${rollout.state}: ${printable(rollout.stateReason ?? '').slice(0, 120)})`
      : '';
  if (done)
    title = `${ok} of ${jobs.length} hosts ${verb}${ended.length ? `, ${ended.join(', ')}` : ''}${rollout.state === 'aborted' ? ' (aborted)' : stopped}`;
  else if (rollout.state === 'halted' || rollout.state === 'paused')
    title = `${rollout.state}: ${printable(rollout.stateReason ?? '').slice(0, 180)}`;
  const base = {
    title,
    summary,
    ...(text ? { text } : {}),
    actions: done && rollout.state === 'aborted' ? [] : actions,
  };
  if (!done) return { ...base, status: 'in_progress' };
  return { ...base, status: 'completed', conclusion: conclusionOf(rollout.state, { ok, failed, blocked }) };
}

/** A release that never became a rollout: why, so the author sees it on the tag. */
export function releaseFailureView(release: Pick<ReleaseRow, 'tag' | 'error' | 'resolveFailures'>): CheckRunView {
  return {
    title: `not rolled out: ${printable(release.error ?? 'the release could not be resolved').slice(0, 200)}`,
    summary: `**${release.tag}** was not rolled out to any host.\n\n${cell(release.error ?? 'the release could not be resolved')}${release.resolveFailures ? `\n\n(${release.resolveFailures} tries)` : ''}`,
    status: 'completed',
    conclusion: 'failure',
    actions: [],
  };
}
