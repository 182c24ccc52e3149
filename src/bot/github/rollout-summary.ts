import { FINAL_JOB_STATES } from '../../protocol/statuses.ts';
import type { HostRecord } from '../store/hosts.ts';
import type { HostJob } from '../store/rollouts.ts';

// What the rollout's check run shows: one row per host (policy, state, version, exit code and label, time),
// and the run's status and conclusion. Pure: store rows in, check-run fields out.

export interface CheckRunView {
  title: string;
  summary: string;
  status: 'in_progress' | 'completed';
  conclusion?: 'success' | 'failure' | 'neutral';
}

const escape = (text: string) => text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\n/g, ' ');

export function rolloutView(plugin: { id: string; version: string }, jobs: readonly HostJob[], hosts: ReadonlyMap<string, HostRecord>): CheckRunView {
  const count = (states: string[]) => jobs.filter((j) => states.includes(j.state)).length;
  const ok = count(['ok']);
  const failed = count(['failed', 'dead_lettered']);
  const done = jobs.every((j) => FINAL_JOB_STATES.has(j.state));
  const rows = jobs.map((job) => {
    const host = hosts.get(job.hostId);
    const exit = job.exitCode === null ? '' : `${job.exitCode} ${job.exitLabel ?? ''}`.trim();
    return `| ${escape(host?.name ?? job.hostId)} | ${host?.policy ?? ''} | ${job.state}${job.reason ? ` (${escape(job.reason)})` : ''} | ${job.installedVersion ?? ''} | ${exit} | ${job.updatedAt.replace('T', ' ').slice(0, 19)} |`;
  });
  const summary = [
    `**${plugin.id} ${plugin.version}**: ${jobs.length} host${jobs.length === 1 ? '' : 's'}, ${ok} ok, ${failed} failed, ${jobs.length - count([...FINAL_JOB_STATES])} in progress.`,
    '',
    '| Host | Policy | State | Version | Exit code | Updated (UTC) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  const title = done ? `${ok} of ${jobs.length} hosts updated${failed ? `, ${failed} failed` : ''}` : `rolling out: ${ok} of ${jobs.length} hosts done`;
  if (!done) return { title, summary, status: 'in_progress' };
  return { title, summary, status: 'completed', conclusion: failed ? 'failure' : ok ? 'success' : 'neutral' };
}
