import { parseArgs } from 'node:util';
import { adminClient } from '../admin-client.ts';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';

export const ROLLOUTS_HELP = `Usage: c2f-plugin rollouts <action> [options]     (talks to the bot's admin API)

  list                                  recent rollouts
  show <rollout>                        its per-host jobs: state, reason, exit code
  approve|cancel|redeliver <rollout> <job>
                                        act on one host's job
  history <rollout> <job>               the job's states, oldest first

Options: --bot URL (or C2F_BOT_URL), --json. The admin token comes from C2F_ADMIN_TOKEN.
`;

interface Job {
  id: string;
  hostId: string;
  action: string;
  state: string;
  reason: string | null;
  exitCode: number | null;
  exitLabel: string | null;
  updatedAt: string;
}

export async function rolloutsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { bot: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const [action, rollout, job] = positionals;
  const api = adminClient(values.bot);
  const need = (value: string | undefined, what: string) => {
    if (!value) throw new UsageError(`rollouts ${action} takes ${what}`);
    return encodeURIComponent(value);
  };
  switch (action) {
    case 'list': {
      const list = await api.call<Array<{ id: string; repository: string; pluginId: string; version: string; createdAt: string; jobs: number }>>('GET', '/api/admin/rollouts');
      if (values.json) printJson(list);
      else for (const r of list) process.stdout.write(`${r.id}  ${r.repository}  ${r.pluginId} ${r.version}  ${r.jobs} hosts  ${r.createdAt}\n`);
      return 0;
    }
    case 'show': {
      const shown = await api.call<{ id: string; pluginId: string; version: string; jobs: Job[] }>('GET', `/api/admin/rollouts/${need(rollout, 'a rollout id')}`);
      if (values.json) printJson(shown);
      else {
        process.stdout.write(`${shown.id}  ${shown.pluginId} ${shown.version}\n`);
        for (const j of shown.jobs) {
          const code = j.exitCode === null ? '' : `  exit ${j.exitCode} ${j.exitLabel ?? ''}`;
          process.stdout.write(`  ${j.hostId}  ${j.action}  ${j.state}${code}${j.reason ? `  (${j.reason})` : ''}  job ${j.id}\n`);
        }
      }
      return 0;
    }
    case 'approve':
    case 'cancel':
    case 'redeliver':
    case 'history': {
      const path = `/api/admin/rollouts/${need(rollout, 'a rollout id and a job id')}/jobs/${need(job, 'a rollout id and a job id')}/${action}`;
      const result = await api.call(action === 'history' ? 'GET' : 'POST', path);
      if (values.json || action === 'history') printJson(result);
      else process.stdout.write(`${action}: job ${job} of rollout ${rollout}\n`);
      return 0;
    }
  }
  throw new UsageError(action ? `unknown rollouts action "${action}"` : 'rollouts needs an action');
}
