import { parseArgs } from 'node:util';
import { printable } from '../../printable.ts';
import { logExcerpt } from '../../protocol/log-excerpt.ts';
import { adminClient, type AdminClient } from '../admin-client.ts';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';
import type { ActionResult } from '../../bot/rollout/operator-actions.ts';
import { rolloutWhat } from '../../bot/domain.ts';
import type { WaveSummary } from '../../bot/rollout/wave-summary.ts';

export const ROLLOUTS_HELP = `Usage: c2f-plugin rollouts <action> [options]     (talks to the bot's admin API)

Follow:
  list                                   recent rollouts, and releases that did not become one (and why)
  show <rollout> [--log]                 each host's job: state, exit code, the host's message; the
                                         installer's log for failed jobs (--log: for every job)
  history <rollout> <job>                the job's states and the host's reports, oldest first
  events [--after ID] [--kind K] [--host H] [--plugin P] [--rollout R] [--actor A] [--jsonl]
                                         the event log (install_success, install_fail, update_changed,
                                         update_nochange, rollback_exec, health_fail, job_blocked,
                                         publisher_unverified, release_unverified,
                                         wave_started, rollout_halted, operator actions...); --jsonl
                                         writes every event, one JSON object per line (an export)

Act (each is safe to repeat; without job ids it applies to every job of the rollout in the right state):
  approve <rollout> [<job>...]           install on hosts waiting for approval
  retry <rollout> [<job>...]             send failed and dead-lettered jobs again as a new attempt
                                         (named jobs may also be skipped or cancelled ones)
  force <rollout> (<job>... | --host H...)
                                         install the release even if it is the same package or a downgrade;
                                         a host with no job in the rollout gets one
  cancel <rollout> [<job>...]            cancel jobs that have not started on their host
  rollback <rollout> [--host H...] [--to X.Y.Z]
                                         return hosts (default: every host whose job finished) to the version
                                         they had before the rollout, or to X.Y.Z; creates a rollback rollout
  redeliver                              the same as retry

A staged rollout as a whole (waves from .github/conn2flow-release.yml or the bot's default):
  pause <rollout>                        send nothing more until it is resumed
  resume <rollout>                       go on; a halted rollout goes on past the wave that halted it
  abort <rollout> [--rollback]           send nothing more, ever; --rollback also returns the hosts it
                                         updated to what they had
  next-wave <rollout>                    start the next wave now, whatever the current one's thresholds
  schedule <rollout> (--at TIME | --clear)
                                         nothing of it goes out before TIME (with its zone, like
                                         2026-12-04T02:00Z); --clear lifts the schedule
  approve-wave <rollout>                 let the wave it reached start, when the strategy says
                                         "approval: required" for it (next-wave also approves the wave)

Options: --bot URL (or C2F_BOT_URL), --json. The admin token comes from C2F_ADMIN_TOKEN; C2F_OPERATOR names
who acts (default: your login name). An action that changes nothing exits 1 and says why.
`;

interface Job {
  id: string;
  hostId: string;
  action: string;
  state: string;
  reason: string | null;
  exitCode: number | null;
  exitLabel: string | null;
  installedVersion: string | null;
  message: string | null;
  logTail: string[];
  attemptId: string;
  updatedAt: string;
}

const LOG_LINES = 12;
const out = (line: string) => process.stdout.write(`${line}\n`);

export async function rolloutsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      at: { type: 'string' },
      clear: { type: 'boolean', default: false },
      bot: { type: 'string' },
      json: { type: 'boolean', default: false },
      log: { type: 'boolean', default: false },
      host: { type: 'string', multiple: true },
      to: { type: 'string' },
      after: { type: 'string' },
      kind: { type: 'string' },
      plugin: { type: 'string' },
      rollout: { type: 'string' },
      actor: { type: 'string' },
      jsonl: { type: 'boolean', default: false },
      rollback: { type: 'boolean', default: false },
    },
  });
  const [action, rollout, ...jobs] = positionals;
  const api = adminClient(values.bot);
  const need = (value: string | undefined, what: string) => {
    if (!value) throw new UsageError(`rollouts ${action} takes ${what}`);
    return encodeURIComponent(value);
  };
  switch (action) {
    case 'list':
      return list(api, values.json);
    case 'show':
      return show(api, need(rollout, 'a rollout id'), values.json, values.log);
    case 'history': {
      const result = await api.call<{
        job: Job;
        history: Array<{ state: string; detail: string | null; at: string }>;
        reports: Array<{
          attemptId: string | null;
          receivedAt: string;
          report: { status: string; exitCode: number | null; message: string; logTail: string[] } | null;
        }>;
      }>(
        'GET',
        `/api/admin/rollouts/${need(rollout, 'a rollout id and a job id')}/jobs/${need(jobs[0], 'a rollout id and a job id')}/history`,
      );
      if (values.json) printJson(result);
      else {
        out(
          `job ${result.job.id} on ${result.job.hostId}: ${result.job.action}, now ${result.job.state} (attempt ${result.job.attemptId})`,
        );
        for (const h of result.history) out(`  ${h.at}  ${h.state}${h.detail ? `  ${printable(h.detail)}` : ''}`);
        if (result.reports.length) out('reports:');
        for (const r of result.reports) {
          if (!r.report) continue;
          out(
            `  ${r.receivedAt}  attempt ${r.attemptId}  ${r.report.status}${r.report.exitCode === null ? '' : ` ${r.report.exitCode}`}  ${printable(r.report.message)}`,
          );
        }
      }
      return 0;
    }
    case 'events': {
      const query = new URLSearchParams();
      for (const [key, value] of [
        ['after', values.after],
        ['kind', values.kind],
        ['host', values.host?.[0]],
        ['plugin', values.plugin],
        ['rollout', values.rollout],
        ['actor', values.actor],
      ] as const)
        if (value) query.set(key, value);
      if (values.jsonl) {
        query.set('format', 'jsonl');
        await api.stream(`/api/admin/events?${query}`, process.stdout);
        return 0;
      }
      const events = await api.call<
        Array<{
          id: number;
          kind: string;
          hostId: string | null;
          hostName: string | null;
          actor: string | null;
          pluginId: string | null;
          detail: unknown;
          at: string;
        }>
      >('GET', `/api/admin/events?${query}`);
      if (values.json) printJson(events);
      else if (!events.length) out('no events');
      else
        for (const e of events)
          out(
            `${e.id}  ${e.at}  ${e.kind.padEnd(20)} ${e.pluginId ?? ''}  ${hostText(e)}${e.actor ? `  by ${printable(e.actor)}` : ''}  ${printable(JSON.stringify(e.detail ?? {}))}`,
          );
      return 0;
    }
    case 'pause':
    case 'resume':
    case 'abort':
    case 'next-wave':
    case 'approve-wave':
    case 'schedule': {
      if (action === 'schedule' && Boolean(values.at) === values.clear)
        throw new UsageError('rollouts schedule takes --at TIME (with its zone, like 2026-12-04T02:00Z) or --clear');
      const result = await api.call<{
        rolloutId: string;
        action: string;
        state: string;
        currentWave: number;
        startAt: string | null;
        jobs: number;
        rollback?: ActionResult;
      }>('POST', `/api/admin/rollouts/${need(rollout, 'a rollout id')}/${action}`, controlBody(action, values));
      if (values.json) printJson(result);
      else {
        const moved = {
          pause: 'held',
          resume: 'released to their waves',
          abort: 'cancelled',
          'next-wave': 'released to their waves',
          'approve-wave': 'may go out now',
          schedule: `held until ${result.startAt}`,
        }[action];
        const jobs = `${result.jobs} job${result.jobs === 1 ? '' : 's'} ${moved}`;
        const lifted = 'the schedule is lifted: what it held goes out as its other holds allow';
        out(
          `${result.rolloutId}: ${result.state}, wave ${result.currentWave + 1}; ${action === 'schedule' && !result.startAt ? lifted : jobs}`,
        );
        if (result.rollback) printAction(result.rollback);
      }
      return 0;
    }
    case 'approve':
    case 'retry':
    case 'redeliver':
    case 'force':
    case 'cancel':
    case 'rollback': {
      const id = need(rollout, 'a rollout id');
      if (action === 'force' && !jobs.length && !values.host?.length)
        throw new UsageError('rollouts force takes job ids or --host H');
      if (action === 'rollback' && jobs.length) throw new UsageError('rollouts rollback takes --host H (not job ids)');
      const body = {
        ...(jobs.length ? { jobs } : {}),
        ...(values.host?.length ? { hosts: values.host } : {}),
        ...(values.to ? { to: values.to } : {}),
      };
      const result = await api.call<ActionResult>('POST', `/api/admin/rollouts/${id}/${action}`, body);
      if (values.json) printJson(result);
      else printAction(result);
      return result.changed.length ? 0 : 1;
    }
  }
  throw new UsageError(action ? `unknown rollouts action "${action}"` : 'rollouts needs an action');
}

/** A host by name with its id beside, or its id alone (a removed host). */
function hostText(e: { hostId: string | null; hostName: string | null }): string {
  if (!e.hostId) return '';
  return e.hostName ? `${printable(e.hostName)} (${e.hostId})` : e.hostId;
}

async function list(api: AdminClient, json: boolean): Promise<number> {
  const rollouts = await api.call<
    Array<{
      id: string;
      kind: string;
      repository: string;
      pluginId: string;
      version: string;
      createdAt: string;
      state: string;
      jobs: number;
      states: Record<string, number>;
      requestedBy: string | null;
    }>
  >('GET', '/api/admin/rollouts');
  const releases = await api.call<
    Array<{
      id: number;
      repository: string;
      tag: string;
      state: string;
      error: string | null;
      resolveFailures: number;
      receivedAt: string;
    }>
  >('GET', '/api/admin/releases');
  if (json) {
    printJson({ rollouts, releases });
    return 0;
  }
  if (!rollouts.length && !releases.length)
    out('no rollouts yet: they start when a release is published in a repository the bot is installed on');
  for (const r of rollouts) {
    const states = Object.entries(r.states)
      .map(([state, n]) => `${n} ${state}`)
      .join(', ');
    const by = r.requestedBy ? ` by ${printable(r.requestedBy)}` : '';
    out(
      `${r.id}  ${r.createdAt}  ${r.state}  ${r.repository}  ${rolloutWhat(r)}${r.kind === 'release' ? '' : by}  ${r.jobs} host${r.jobs === 1 ? '' : 's'}${states ? ` (${states})` : ''}`,
    );
  }
  if (releases.length) out(`\nreleases without a rollout:`);
  for (const r of releases) {
    const why =
      r.state === 'received'
        ? `resolving${r.resolveFailures ? ` (${r.resolveFailures} failed tries: ${printable(r.error ?? '')})` : ''}`
        : `${r.state}: ${printable(r.error ?? '')}`;
    out(`  ${r.receivedAt}  ${r.repository} ${r.tag}  ${why}`);
  }
  return 0;
}

async function show(api: AdminClient, id: string, json: boolean, allLogs: boolean): Promise<number> {
  const shown = await api.call<{
    id: string;
    kind: string;
    pluginId: string;
    version: string;
    originRolloutId: string | null;
    state: string;
    stateReason: string | null;
    notBefore: string | null;
    startAt: string | null;
    waves: WaveSummary[];
    jobs: Array<Job & { wave: number; hold: string | null; holdUntil: string | null; hostName: string | null }>;
  }>('GET', `/api/admin/rollouts/${id}`);
  if (json) {
    printJson(shown);
    return 0;
  }
  out(
    `${shown.id}  ${rolloutWhat(shown)}${shown.originRolloutId ? ` (undoes ${shown.originRolloutId})` : ''}  ${shown.state}`,
  );
  if (shown.stateReason) out(`  ${printable(shown.stateReason)}`);
  if (shown.notBefore && Date.parse(shown.notBefore) > Date.now())
    out(`  minimum release age: nothing goes out before ${shown.notBefore}`);
  if (shown.startAt && Date.parse(shown.startAt) > Date.now())
    out(`  scheduled: nothing goes out before ${shown.startAt}`);
  for (const w of shown.waves) {
    const soakFor = w.soakSeconds ? `, soak ${w.soakSeconds} s` : '';
    const soak = w.soakUntil ? `, soaking until ${w.soakUntil}` : soakFor;
    out(
      `  wave ${w.wave} ${printable(w.name)} (${w.selects}${w.approvalRequired ? ', approval required' : ''}): ${w.state.replace('_', ' ')}; ${w.ok} ok, ${w.failed} failed, ${w.pending} held of ${w.jobs}; continue at ${w.successThreshold}, halt at ${w.errorThreshold}${soak}`,
    );
  }
  if (!shown.jobs.length) out('  no hosts follow this plugin');
  for (const j of shown.jobs) {
    const code = j.exitCode === null ? '' : `  exit ${j.exitCode} ${j.exitLabel ?? ''}`;
    const wave = shown.waves.length ? `  wave ${j.wave + 1}` : '';
    const timed = ['window', 'release_age', 'scheduled', 'dependency'].includes(j.hold ?? '');
    const until = j.holdUntil && j.state === 'pending' && timed ? ` until ${j.holdUntil}` : '';
    const held = j.hold ? ` (${j.hold}${until})` : '';
    out(
      `  ${j.hostName === null ? j.hostId : `${printable(j.hostName)} (${j.hostId})`}  ${j.action}  ${j.state}${held}${code}${j.installedVersion ? `  now ${j.installedVersion}` : ''}${wave}  job ${j.id}`,
    );
    const said = j.message ?? j.reason;
    if (said) out(`      ${printable(said)}`);
    if ((allLogs || j.state === 'failed' || j.state === 'dead_lettered') && j.logTail.length) {
      const { cause, tail } = logExcerpt(j.logTail, LOG_LINES);
      if (cause.length) out('      cause (from the failed run):');
      for (const line of cause) out(`      | ${printable(line)}`);
      out(`      log (last ${tail.length} lines; --json has all):`);
      for (const line of tail) out(`      | ${printable(line)}`);
    }
  }
  return 0;
}

function printAction(result: ActionResult): void {
  const verb: Record<string, string> = {
    approve: 'approved',
    retry: 'retried',
    redeliver: 'retried',
    force: 'forced',
    cancel: 'cancelled',
    rollback: 'rolling back',
    uninstall: 'uninstalling',
  };
  if (result.changed.length) {
    const where = result.created === false ? `${result.rolloutId} (already requested; nothing new)` : result.rolloutId;
    out(
      `${verb[result.action] ?? result.action} ${result.changed.length} job${result.changed.length === 1 ? '' : 's'} in ${where}:`,
    );
    for (const c of result.changed) out(`  ${c.hostId}  ${c.state}  job ${c.jobId}`);
  } else {
    out(`nothing to ${result.action} in ${result.rolloutId}`);
  }
  for (const u of result.unchanged)
    out(`  left alone: ${u.hostId || u.jobId}${u.jobId && u.hostId ? ` (job ${u.jobId})` : ''}: ${printable(u.why)}`);
}

/** The body of a whole-rollout action: abort may roll back, schedule names its time (null lifts it). */
function controlBody(action: string, values: { rollback: boolean; at?: string; clear: boolean }): object {
  if (action === 'abort') return values.rollback ? { rollback: true } : {};
  if (action === 'schedule') return { at: values.clear ? null : values.at };
  return {};
}
