import {
  NotificationInputError,
  addNotificationTarget,
  removeNotificationTarget,
  shownTarget,
  targetInput,
} from '../notify/notification-targets.ts';
import { getTarget, listTargets, targetDeliveries } from '../store/notifications.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PgBoss } from 'pg-boss';
import { HostUrlError } from '../host-url.ts';
import {
  ActionRefused,
  approve,
  cancel,
  force,
  retry,
  rollback,
  uninstall,
  type ActionResult,
  type OperatorDeps,
} from '../rollout/operator-actions.ts';
import type { Database } from '../store/database.ts';
import { endAllSessions } from '../store/console-sessions.ts';
import { allEvents, listEvents } from '../read/events.ts';
import {
  addHost,
  getHost,
  listHosts,
  listLabelSchedules,
  removeLabelSchedule,
  rotateSecret,
  setLabelSchedule,
  HostNameTakenError,
  HostNotFoundError,
} from '../store/hosts.ts';
import { checkTimeZone, WindowError } from '../rollout/maintenance-windows.ts';
import {
  abortRollout,
  pauseRollout,
  resumeRollout,
  startNextWave,
  type ControlResult,
  approveWave,
  parseStartTime,
  scheduleRollout,
} from '../rollout/rollout-control.ts';
import { checkLabel, StrategyError } from '../rollout/strategy.ts';
import { readRolloutWhole } from '../read/rollout-view.ts';
import { fleetPage } from '../read/fleet.ts';
import { registryPlugin, searchRegistry } from '../read/registry.ts';
import { unyankRelease, yankRelease } from '../rollout/yank.ts';
import { changeHost, createEnrollToken, removeHostAs } from '../rollout/fleet-actions.ts';
import {
  checkedPluginId,
  hostChangesInput,
  HostInputError,
  hostInput,
  REPOSITORY,
  windowsInput,
} from '../rollout/host-input.ts';
import { releasesWithoutRollout } from '../store/releases.ts';
import { jobReports } from '../store/reports.ts';
import { getJob, jobHistory, listRollouts } from '../store/rollouts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { FailureLimiter } from '../http/failure-limiter.ts';
import { InputError, RequestInput } from '../http/request-input.ts';
import { sameText } from '../../same-text.ts';
import { streamOut } from '../http/stream-out.ts';
import { BodyTooLargeError, readBody } from '../../read-body.ts';
import { sendJson } from '../http/json-answer.ts';

// The operator's API (bearer C2F_ADMIN_TOKEN): hosts, rollouts and what can be done about their jobs, the
// event log. The CLI's `hosts` and `rollouts` commands are thin clients of it. Who asked for an action is
// the `x-c2f-operator` header (the CLI sends the user's name), recorded with the change.

export interface AdminDeps {
  db: Database;
  box: SecretBox;
  boss: PgBoss;
  adminToken: string | undefined;
  /** The bot's public URL (the agent command an enrollment prints names it). */
  botUrl: string;
  /** Says what an operator should know (wrong tokens), without the token. */
  log?: (fields: Record<string, unknown>, message: string) => void;
  /** C2F_PUBLISHER_KEYS: the keys each named repository's releases must be signed with. */
  publisherKeys?: Record<string, string[]>;
  /** C2F_PROVENANCE_WORKFLOWS: the workflows that must have built each named repository's releases. */
  provenanceWorkflows?: Record<string, string[]>;
}

class BadRequest extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

export function isAdminPath(path: string): boolean {
  return path.startsWith('/api/admin/');
}

/** Wrong admin tokens per address: past 20 a minute the address is refused until the minute ends. */
const wrongTokens = new FailureLimiter();

export async function handleAdmin(req: IncomingMessage, res: ServerResponse, deps: AdminDeps): Promise<void> {
  if (!deps.adminToken) return sendJson(res, 503, { error: 'the admin API is off: set C2F_ADMIN_TOKEN on the bot' });
  const address = req.socket.remoteAddress ?? 'unknown';
  const wait = wrongTokens.retryAfter(address);
  if (wait) {
    res.setHeader('retry-after', String(wait));
    return sendJson(res, 429, { error: `too many wrong admin tokens from ${address}: try again in ${wait} s` });
  }
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  if (!sameText(given, deps.adminToken)) {
    const failures = wrongTokens.fail(address);
    if (failures === 1 || failures === 20)
      deps.log?.(
        { address, failures },
        failures === 20 ? 'wrong admin tokens: refusing this address for a minute' : 'a wrong admin token',
      );
    return sendJson(res, 401, { error: 'missing or wrong admin token' });
  }
  try {
    const result = await route(req, deps);
    if (result.lines) return await sendLines(res, result.lines);
    sendJson(res, result.status ?? 200, result.body);
  } catch (error) {
    if (error instanceof BadRequest) return sendJson(res, error.status, { error: error.message });
    if (error instanceof InputError) return sendJson(res, 400, { error: error.message });
    if (error instanceof ActionRefused) return sendJson(res, error.status, { error: error.message });
    if (error instanceof HostInputError || error instanceof NotificationInputError)
      return sendJson(res, 400, { error: error.message });
    if (error instanceof HostUrlError) return sendJson(res, 422, { error: error.message });
    if (error instanceof HostNotFoundError) return sendJson(res, 404, { error: error.message });
    if (error instanceof HostNameTakenError) return sendJson(res, 409, { error: error.message });
    if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: error.message });
    if (error instanceof WindowError || error instanceof StrategyError)
      return sendJson(res, 422, { error: error.message });
    throw error;
  }
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req, 64 * 1024)).toString('utf8');
  if (!text) return {};
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // reported below
  }
  throw new BadRequest('the body must be a JSON object');
}

function idList(value: unknown, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 128))
    throw new BadRequest(`"${what}" must be a list of ids`);
  return value;
}

function operator(req: IncomingMessage): string {
  const name = req.headers['x-c2f-operator'];
  const value = (Array.isArray(name) ? name[0] : name)?.trim();
  return value ? value.slice(0, 100) : 'admin-api';
}

/** JSON lines (one object per line), written as they come: the whole event log, without holding it. */
function sendLines(res: ServerResponse, lines: AsyncIterable<unknown>): Promise<void> {
  return streamOut(
    res,
    { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' },
    lines,
    (line) => `${JSON.stringify(line)}\n`,
  );
}

async function route(
  req: IncomingMessage,
  deps: AdminDeps,
): Promise<{ status?: number; body?: unknown; lines?: AsyncIterable<unknown> }> {
  const { db, box } = deps;
  const input = new RequestInput(req);
  const { path } = input;
  const parts = input.segments(3); // after /api/admin
  const method = req.method ?? 'GET';
  const operatorDeps: OperatorDeps = { db, boss: deps.boss };

  if (parts[0] === 'hosts') {
    if (parts.length === 1 && method === 'GET') return { body: await listHosts(db) };
    if (parts.length === 1 && method === 'POST') {
      const created = await addHost(db, box, hostInput(await jsonBody(req), true));
      return { status: 201, body: { host: created.host, secret: created.secret } };
    }
    const id = parts[1];
    if (parts.length === 2 && method === 'GET') {
      const host = await getHost(db, id);
      if (!host) throw new BadRequest(`no host ${id}`, 404);
      return { body: host };
    }
    if (parts.length === 2 && method === 'DELETE') {
      await removeHostAs(db, id, operator(req));
      return { body: { removed: id } };
    }
    if (parts.length === 2 && method === 'PATCH') {
      const changes = hostChangesInput(await jsonBody(req));
      return { body: await changeHost(db, id, changes, operator(req)) };
    }
    if (parts.length === 3 && parts[2] === 'rotate-secret' && method === 'POST')
      return { body: { hostId: id, secret: await rotateSecret(db, box, id) } };
    if (parts.length === 3 && parts[2] === 'uninstall' && method === 'POST') {
      const body = await jsonBody(req);
      const [repository, pluginId] =
        typeof body.plugin === 'string' && body.plugin.includes(':')
          ? body.plugin.split(':')
          : [body.repository, body.plugin];
      if (typeof pluginId !== 'string')
        throw new BadRequest('"plugin" is the plugin id to uninstall (or owner/repo:plugin-id)');
      checkedPluginId(pluginId);
      if (repository !== undefined && (typeof repository !== 'string' || !REPOSITORY.test(repository)))
        throw new BadRequest('"repository" is owner/repo');
      return {
        status: 201,
        body: await uninstall(operatorDeps, id, {
          by: operator(req),
          pluginId,
          repository: repository as string | undefined,
        }),
      };
    }
  }
  if (parts[0] === 'enrollments' && parts.length === 1 && method === 'POST') {
    const body = await jsonBody(req);
    return { status: 201, body: await createEnrollToken(deps, hostInput(body, false), operator(req)) };
  }
  if (parts[0] === 'labels') {
    if (parts.length === 1 && method === 'GET') return { body: await listLabelSchedules(db) };
    const label = checkLabel(parts[1]);
    if (parts.length === 2 && method === 'PUT') {
      const body = await jsonBody(req);
      if (typeof body.timeZone !== 'string')
        throw new BadRequest('"timeZone" is required (an IANA name like Europe/Berlin)');
      const schedule = { label, timeZone: checkTimeZone(body.timeZone), windows: windowsInput(body.windows) };
      if (!schedule.windows.length)
        throw new BadRequest('"windows" needs at least one window (DELETE removes the label\'s windows)');
      await setLabelSchedule(db, schedule);
      return { body: schedule };
    }
    if (parts.length === 2 && method === 'DELETE') {
      if (!(await removeLabelSchedule(db, label))) throw new BadRequest(`label ${label} has no windows`, 404);
      return { body: { removed: label } };
    }
  }
  if (parts[0] === 'releases' && parts.length === 1 && method === 'GET')
    return { body: await releasesWithoutRollout(db) };
  if (parts[0] === 'console' && parts[1] === 'sign-out-everyone' && parts.length === 2 && method === 'POST')
    return { body: { ended: await endAllSessions(db) } };
  if (parts[0] === 'fleet' && parts.length === 1 && method === 'GET') {
    return {
      body: await fleetPage(db, {
        q: input.text('q'),
        label: input.text('label'),
        quiet: input.flag('quiet'),
        problems: input.flag('problems'),
        page: input.integer('page', 1, 1, 1_000_000),
        perPage: input.integer('perPage', 50, 1, 500),
      }),
    };
  }
  // The registry (Conn2Flow's Registry Search/List/Get): plugins and versions the bot knows, who runs each.
  // A version is yanked (nothing of it goes out; {"reason", "rollback"}) and un-yanked.
  if (parts[0] === 'registry' && parts.length === 6 && method === 'POST' && /^(un)?yank$/.test(parts[5])) {
    const target = { repository: `${parts[1]}/${parts[2]}`, pluginId: parts[3], version: parts[4] };
    if (parts[5] === 'unyank') return { body: await unyankRelease(operatorDeps, target, { by: operator(req) }) };
    const body = await jsonBody(req);
    if (typeof body.reason !== 'string') throw new BadRequest('"reason" is required: why the release is yanked');
    if (body.rollback !== undefined && typeof body.rollback !== 'boolean')
      throw new BadRequest('"rollback" is true or false');
    return {
      body: await yankRelease(operatorDeps, target, {
        by: operator(req),
        reason: body.reason,
        rollback: body.rollback === true,
      }),
    };
  }
  // Where notifications go: list, add (the secret is answered once), remove, and each endpoint's deliveries.
  if (parts[0] === 'notifications') {
    if (parts.length === 1 && method === 'GET') return { body: (await listTargets(db)).map(shownTarget) };
    if (parts.length === 1 && method === 'POST') {
      const added = await addNotificationTarget(db, box, targetInput(await jsonBody(req)), operator(req));
      return { status: 201, body: added };
    }
    const target = parts[1] ? await getTarget(db, parts[1]) : undefined;
    if (!target) throw new BadRequest(`no notification endpoint ${parts[1]}`, 404);
    if (parts.length === 2 && method === 'DELETE') {
      await removeNotificationTarget(db, target.id, operator(req));
      return { body: { removed: target.id } };
    }
    if (parts.length === 3 && parts[2] === 'deliveries' && method === 'GET')
      return {
        body: {
          target: shownTarget(target),
          deliveries: await targetDeliveries(db, target.id, input.integer('limit', 50, 1, 500)),
        },
      };
  }
  if (parts[0] === 'registry' && method === 'GET') {
    if (parts.length === 1) return { body: await searchRegistry(db, input.text('q')) };
    if (parts.length === 4) {
      const versions = await registryPlugin(db, `${parts[1]}/${parts[2]}`, parts[3]);
      if (!versions.length)
        throw new BadRequest(`the bot knows no release of ${parts[3]} in ${parts[1]}/${parts[2]}`, 404);
      return { body: { repository: `${parts[1]}/${parts[2]}`, pluginId: parts[3], versions } };
    }
  }
  if (parts[0] === 'events' && parts.length === 1 && method === 'GET') {
    const filter = {
      after: input.integer('after', undefined, 0),
      kind: input.text('kind'),
      hostId: input.text('host'),
      pluginId: input.text('plugin'),
      rolloutId: input.text('rollout'),
      actor: input.text('actor'),
    };
    const format = input.text('format') ?? 'json';
    if (format === 'jsonl') return { lines: allEvents(db, filter) };
    if (format !== 'json') throw new BadRequest('"format" is json (a page) or jsonl (every event, one per line)');
    return { body: await listEvents(db, { ...filter, limit: input.integer('limit', 500, 1, 5000) }) };
  }
  if (parts[0] === 'rollouts') {
    if (parts.length === 1 && method === 'GET') return { body: await listRollouts(db) };
    const id = parts[1];
    if (parts.length === 2 && method === 'GET') {
      const rollout = await readRolloutWhole(db, id);
      if (!rollout) throw new BadRequest(`no rollout ${id}`, 404);
      return { body: rollout };
    }
    if (parts.length === 3 && method === 'POST')
      return { body: await rolloutAction(operatorDeps, id, parts[2], await jsonBody(req), operator(req)) };
    if (parts.length === 5 && parts[2] === 'jobs') {
      const job = await getJob(db, parts[3]);
      if (!job || job.rolloutId !== id) throw new BadRequest(`no job ${parts[3]} in rollout ${id}`, 404);
      if (parts[4] === 'history' && method === 'GET')
        return { body: { job, history: await jobHistory(db, job.id), reports: await jobReports(db, job.id) } };
      if (method === 'POST') {
        const body = await jsonBody(req);
        const result =
          parts[4] === 'rollback'
            ? await jobAction(operatorDeps, id, 'rollback', { ...body, hosts: [job.hostId] }, operator(req))
            : await jobAction(operatorDeps, id, parts[4], { ...body, jobs: [job.id] }, operator(req));
        // One job named and nothing done: say why, as a conflict.
        if (!result.changed.length)
          throw new BadRequest(
            `job ${job.id} is ${result.unchanged[0]?.state ?? job.state}: nothing to ${parts[4] === 'redeliver' ? 'retry' : parts[4]}`,
            409,
          );
        return { body: result };
      }
    }
  }
  throw new BadRequest(`no such admin endpoint: ${method} ${path}`, 404);
}

const ROLLOUT_ACTIONS = 'approve, retry, force, cancel, rollback, pause, resume, abort or next-wave';

async function rolloutAction(
  deps: OperatorDeps,
  rolloutId: string,
  action: string,
  body: Record<string, unknown>,
  by: string,
): Promise<ActionResult | ControlResult> {
  switch (action) {
    case 'pause':
      return pauseRollout(deps, rolloutId, by);
    case 'resume':
      return resumeRollout(deps, rolloutId, by);
    case 'abort':
      if (body.rollback !== undefined && typeof body.rollback !== 'boolean')
        throw new BadRequest('"rollback" is true or false');
      return abortRollout(deps, rolloutId, by, { rollback: body.rollback === true });
    case 'next-wave':
      return startNextWave(deps, rolloutId, by);
    case 'approve-wave':
      return approveWave(deps, rolloutId, by);
    case 'schedule':
      return scheduleRollout(deps, rolloutId, parseStartTime(body.at), by);
  }
  return jobAction(deps, rolloutId, action, body, by);
}

async function jobAction(
  deps: OperatorDeps,
  rolloutId: string,
  action: string,
  body: Record<string, unknown>,
  by: string,
): Promise<ActionResult> {
  const jobIds = idList(body.jobs, 'jobs');
  const hostIds = idList(body.hosts, 'hosts');
  switch (action) {
    case 'approve':
      return approve(deps, rolloutId, { by, jobIds });
    case 'retry':
    case 'redeliver':
      return retry(deps, rolloutId, { by, jobIds });
    case 'force':
      return force(deps, rolloutId, { by, jobIds, hostIds });
    case 'cancel':
      return cancel(deps, rolloutId, { by, jobIds });
    case 'rollback': {
      if (body.to !== undefined && (typeof body.to !== 'string' || !/^\d+\.\d+\.\d+$/.test(body.to)))
        throw new BadRequest('"to" is a version x.y.z');
      return rollback(deps, rolloutId, { by, hostIds, to: body.to as string | undefined });
    }
  }
  throw new BadRequest(`unknown action "${action}": ${ROLLOUT_ACTIONS}`, 404);
}
