import type { RolloutPage } from '../../read/rollout-view.ts';
import type { WaveSummary } from '../../rollout/wave-summary.ts';
import type { HostJob, RolloutRow } from '../../store/rollouts.ts';
import { logExcerpt } from '../../../protocol/log-excerpt.ts';
import { JOB_STATES } from '../../../protocol/statuses.ts';
import { when, href, html, type Html } from '../html.ts';
import { pager, state } from '../layout.ts';

// Rollouts: the list, and one rollout with its waves, each host's job (state, exit code, message, log tail,
// what holds it) and the operator's actions; the part that changes follows the rollout live.

type ListedRollout = RolloutRow & { jobs: number; states: Record<string, number> };

/** The rollouts list, kept up to date as rollouts start and move. */
export function rolloutsPage(rollouts: readonly ListedRollout[]): Html {
  return html`<div data-live="/console/rollouts/stream" data-fragment="/console/rollouts/live" aria-live="polite">${rolloutsView(rollouts)}</div>`;
}

export function rolloutsView(rollouts: readonly ListedRollout[]): Html {
  if (!rollouts.length)
    return html`<p>No rollouts yet: they start when a release is published in a repository the bot is installed on.</p>`;
  return html`<table>
  <caption>Rollouts, newest first</caption>
  <thead><tr><th scope="col">Rollout</th><th scope="col">Plugin</th><th scope="col">State</th><th scope="col">Hosts</th><th scope="col">Started</th></tr></thead>
  <tbody>${rollouts.map(
    (r) => html`<tr>
    <td><a href="/console/rollouts/${encodeURIComponent(r.id)}">${r.kind === 'release' ? 'release' : r.kind}</a><br><span class="mono muted">${r.id}</span></td>
    <td><span class="mono">${r.pluginId} ${r.version}</span><br><span class="muted">${r.repository}</span></td>
    <td>${state(r.state)}</td>
    <td>${r.jobs}: ${Object.entries(r.states).map(([s, n]) => html`${n} ${state(s)} `)}</td>
    <td>${when(r.createdAt)}</td>
  </tr>`,
  )}</tbody>
</table>`;
}

/** A rollout as a signed-in operator sees it; `csrf` null: their role may not act, so no action is offered. */
export type RolloutShown = RolloutPage & { csrf: string | null };

/** Holds that end at a time: the page counts down to it. */
const TIMED_HOLDS = new Set(['window', 'release_age', 'scheduled', 'dependency']);

/** The rollout's page: facts, the whole-rollout actions, and the live part. */
export function rolloutView(shown: RolloutShown, notice?: string, related?: string): Html {
  const { rollout } = shown;
  const id = encodeURIComponent(rollout.id);
  const live = href(`/console/rollouts/${rollout.id}/live`, { page: shown.page, state: shown.stateFilter });
  return html`
${notice ? html`<p class="notice" role="status">${notice}${related ? html` <a href="/console/rollouts/${encodeURIComponent(related)}">Open the rollback rollout</a>` : ''}</p>` : ''}
<dl class="facts">
  <dt>Plugin</dt><dd class="mono">${rollout.pluginId} ${rollout.version}</dd>
  <dt>Repository</dt><dd>${rollout.repository}</dd>
  <dt>Kind</dt><dd>${rollout.kind}${rollout.originRolloutId ? html`, undoes <a href="/console/rollouts/${encodeURIComponent(rollout.originRolloutId)}">${rollout.originRolloutId}</a>` : ''}</dd>
  <dt>Started</dt><dd>${when(rollout.createdAt)}${rollout.requestedBy ? ` by ${rollout.requestedBy}` : ''}</dd>
</dl>
<div data-live="/console/rollouts/${id}/stream" data-fragment="${live}" aria-live="polite">${rolloutLive(shown)}</div>`;
}

/** What changes while the rollout runs: its state, waves and jobs (also served alone, for the live update). */
export function rolloutLive(shown: RolloutShown): Html {
  const { rollout, csrf } = shown;
  const id = encodeURIComponent(rollout.id);
  const pages = Math.max(1, Math.ceil(shown.total / shown.perPage));
  // Nothing of an aborted rollout's release, or of a yanked release, goes out again: no approve, retry or force.
  const sendsAgain = rollout.state !== 'aborted' && !shown.yanked;
  const jobAct = (job: HostJob, action: string, label: string) =>
    csrf === null
      ? ''
      : html`<form method="post" action="/console/rollouts/${id}/act" class="inline"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="action" value="${action}"><input type="hidden" name="job" value="${job.id}"><button type="submit">${label}<span class="skip"> ${hostName(shown, job)}</span></button></form>`;
  return html`
<p>State: ${state(rollout.state)}${rollout.stateReason ? html` <span class="muted">(${rollout.stateReason})</span>` : ''}</p>
${rollout.startAt && Date.parse(rollout.startAt) > Date.now() ? html`<p>Scheduled: nothing goes out before ${when(rollout.startAt)}.</p>` : ''}
${estimateLine(shown)}
${shown.yanked ? html`<p><strong class="bad">Yanked</strong> ${when(shown.yanked.at)}${shown.yanked.by ? ` by ${shown.yanked.by}` : ''}: ${shown.yanked.reason}. Nothing of it is sent until it is un-yanked <a href="/console/registry/${rollout.repository}/${encodeURIComponent(rollout.pluginId)}">in the registry</a>.</p>` : ''}
${rolloutActions(shown)}
${
  shown.waves.length
    ? html`<table>
  <caption>Waves</caption>
  <thead><tr><th scope="col">Wave</th><th scope="col">Hosts</th><th scope="col">State</th><th scope="col">Jobs</th><th scope="col">Continue at</th><th scope="col">Halt at</th></tr></thead>
  <tbody>${shown.waves.map(
    (w) =>
      html`<tr><td>${w.wave} ${w.name}${w.approvalRequired ? html`<br><span class="muted">approval required</span>` : ''}</td><td>${w.selects}</td><td>${state(w.state)}${w.soakUntil ? html` until ${when(w.soakUntil)}` : ''}</td><td>${waveProgress(w)}</td><td>${w.successThreshold}</td><td>${w.errorThreshold}</td></tr>`,
  )}</tbody>
</table>`
    : ''
}
<form class="filters" method="get" action="/console/rollouts/${id}">
  <label>Jobs in state <select name="state"><option value="">any</option>${JOB_STATES.map((s) => html`<option value="${s}"${s === shown.stateFilter ? html` selected` : ''}>${s.replace(/_/g, ' ')}</option>`)}</select></label>
  <button type="submit">Show</button>
</form>
<table>
  <caption>Jobs (${shown.total}; page ${shown.page} of ${pages})</caption>
  <thead><tr><th scope="col">Host</th>${shown.waves.length ? html`<th scope="col">Wave</th>` : ''}<th scope="col">Action</th><th scope="col">State</th><th scope="col">Exit code</th><th scope="col">Message</th><th scope="col">Act</th></tr></thead>
  <tbody>${shown.jobs.map(
    (j) => html`<tr id="job-${j.id}">
    <td><a href="/console/hosts/${encodeURIComponent(j.hostId)}">${hostName(shown, j)}</a></td>
    ${shown.waves.length ? html`<td>${j.wave + 1}</td>` : ''}
    <td>${j.action}</td>
    <td>${state(j.state)}${j.hold ? html`<br><span class="muted">held: ${j.hold}${j.holdUntil && j.state === 'pending' && TIMED_HOLDS.has(j.hold) ? html`, until ${when(j.holdUntil)}` : ''}</span>` : ''}</td>
    <td>${j.exitCode === null ? '' : `${j.exitCode} ${j.exitLabel ?? ''}`}</td>
    <td>${j.message ?? j.reason ?? ''}${causeOf(j)}${
      j.logTail.length
        ? html`<details><summary>Installer log (${j.logTail.length} lines)</summary><pre>${j.logTail.slice(-40).join('\n')}</pre></details>`
        : ''
    }</td>
    <td>${sendsAgain && j.state === 'awaiting_approval' ? jobAct(j, 'approve', 'Approve') : ''}
      ${sendsAgain && ['failed', 'dead_lettered', 'skipped', 'cancelled'].includes(j.state) ? jobAct(j, 'retry', 'Retry') : ''}
      ${['pending', 'awaiting_approval', 'queued', 'delivering'].includes(j.state) ? jobAct(j, 'cancel', 'Cancel') : ''}
      ${sendsAgain && ['ok', 'failed', 'skipped', 'cancelled', 'dead_lettered', 'superseded', 'blocked'].includes(j.state) && shown.rollout.kind === 'release' ? jobAct(j, 'force', 'Force') : ''}
      ${(j.state === 'ok' || j.state === 'failed') && shown.rollout.kind === 'release' ? jobAct(j, 'rollback', 'Roll back') : ''}</td>
  </tr>`,
  )}</tbody>
</table>
${pager(shown.page, pages, (page) => href(`/console/rollouts/${shown.rollout.id}`, { page, state: shown.stateFilter }), 'Pages of jobs')}
${timeline(shown)}`;
}

/** A failed job's cause, from its log (after a restore the end of the log is the restore's). */
function causeOf(job: HostJob): Html | string {
  if (job.state !== 'failed' && job.state !== 'dead_lettered') return '';
  const { cause, tail } = logExcerpt(job.logTail, 1);
  const lines = cause.length ? cause : tail.filter((line) => !line.startsWith('$ '));
  return lines.length ? html`<pre class="cause" aria-label="cause">${lines.join('\n')}</pre>` : '';
}

function hostName(shown: RolloutShown, job: HostJob): string {
  return shown.hosts.get(job.hostId)?.name ?? job.hostId;
}

/** The actions on the whole rollout that its state allows (live: they follow the state as it changes). */
function rolloutActions(shown: RolloutShown): Html | string {
  const { rollout, csrf } = shown;
  if (csrf === null) return '';
  const id = encodeURIComponent(rollout.id);
  const act = (action: string, label: string, kind = '') =>
    html`<form method="post" action="/console/rollouts/${id}/act" class="inline"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="action" value="${action}"><button type="submit"${kind ? html` class="${kind}"` : ''}>${label}</button></form>`;
  const staged = shown.waves.length > 0;
  const open = rollout.state !== 'aborted' && rollout.state !== 'completed';
  // A yanked release is sent by nothing: what would send it is not offered (the server refuses it anyway).
  const sends = !shown.yanked;
  const gate = shown.waves.find((w) => w.state === 'awaiting_approval');
  return html`<div class="actions" aria-label="Actions on the whole rollout" role="group">
  ${rollout.state !== 'aborted' && sends ? html`${act('approve', 'Approve all waiting', 'primary')} ${act('retry', 'Retry all failed')}` : ''}
  ${rollout.kind === 'release' ? act('rollback', 'Roll back updated hosts', 'danger') : ''}
  ${gate && sends ? act('approve-wave', `Approve wave ${gate.wave} (${gate.name})`, 'primary') : ''}
  ${staged && rollout.state === 'running' ? act('pause', 'Pause') : ''}
  ${staged && sends && (rollout.state === 'paused' || rollout.state === 'halted') ? act('resume', 'Resume', 'primary') : ''}
  ${staged && sends && open && rollout.currentWave + 1 < shown.waves.length ? act('next-wave', 'Start the next wave now') : ''}
  ${rollout.kind === 'release' && open && sends ? scheduleForm(rollout, csrf) : ''}
  ${rollout.kind === 'release' && open ? html`${act('abort', 'Abort', 'danger')} ${act('abort-rollback', 'Abort and roll back', 'danger')}` : ''}
</div>`;
}

/** When the rollout likely ends, and on what that rests. */
function estimateLine(shown: RolloutShown): Html | string {
  const estimate = shown.estimate;
  if (!estimate) return '';
  const approval = estimate.approvalOfWave ? `; wave ${estimate.approvalOfWave} waits for an approval first` : '';
  if (!estimate.endsAt) return html`<p>Estimate: none yet (no job has finished)${approval}.</p>`;
  return html`<p>Estimate: ends ${when(estimate.endsAt)} (a job takes about ${duration(estimate.jobSeconds ?? 0)} here${approval}).</p>`;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** Start the rollout later (a time with its zone), or lift a schedule it has. */
function scheduleForm(rollout: RolloutRow, csrf: string): Html {
  const id = encodeURIComponent(rollout.id);
  const lift = rollout.startAt
    ? html`<form method="post" action="/console/rollouts/${id}/act" class="inline"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="action" value="unschedule"><button type="submit">Lift the schedule</button></form>`
    : '';
  return html`<form method="post" action="/console/rollouts/${id}/act" class="inline"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="action" value="schedule"><label>Start at <input type="text" name="at" required placeholder="2026-12-04 02:00Z" size="18"></label> <button type="submit">Schedule the start</button></form>${lift}`;
}

/** A wave's jobs as a bar (ok, failed, held, the rest) with the counts in words beside it. */
function waveProgress(w: WaveSummary): Html {
  // Widths in steps of 5 % as classes: the Content-Security-Policy allows no inline style.
  const width = (n: number) => `w${w.jobs ? Math.round((n / w.jobs) * 20) * 5 : 0}`;
  const words = `${w.ok} ok, ${w.failed} failed, ${w.pending} held of ${w.jobs}`;
  return html`<span class="bar" role="img" aria-label="${words}"><span class="bar-ok ${width(w.ok)}"></span><span class="bar-failed ${width(w.failed)}"></span><span class="bar-held ${width(w.pending)}"></span></span> ${words}`;
}

/** The rollout's latest events, newest first (live with the rest). */
function timeline(shown: RolloutShown): Html {
  const id = encodeURIComponent(shown.rollout.id);
  return html`
<h2>Timeline</h2>
<ol class="timeline" reversed>${shown.timeline.map(
    (e) =>
      html`<li>${when(e.at)} <strong>${e.kind.replace(/_/g, ' ')}</strong>${e.hostId ? html` on ${e.hostName ?? e.hostId}` : ''}${e.actor ? ` by ${e.actor}` : ''}</li>`,
  )}</ol>
<p><a href="/console/events?rollout=${id}">Every event of this rollout</a></p>`;
}
