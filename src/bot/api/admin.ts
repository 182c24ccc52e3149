import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PgBoss } from 'pg-boss';
import { enqueueDelivery } from '../delivery/deliver-job.ts';
import { enqueueRolloutPushes } from '../delivery/deliver-rollout.ts';
import { HostUrlError, validateHostUrl } from '../host-url.ts';
import type { Database, Queryable } from '../store/database.ts';
import { addHost, createEnrollment, getHost, listHosts, removeHost, rotateSecret, HostNotFoundError, type NewHost, type Subscription } from '../store/hosts.ts';
import { getJob, jobHistory, rolloutJobs, transitionJob, type HostJob } from '../store/rollouts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { BodyTooLargeError, readBody, sendJson } from './read-body.ts';

// The operator's API (bearer C2F_ADMIN_TOKEN): hosts and rollouts. The CLI's `hosts` and `rollouts`
// commands are thin clients of it.

export interface AdminDeps {
  db: Database;
  box: SecretBox;
  boss: PgBoss;
  adminToken: string | undefined;
  /** Called after an operator changed a job (the check run follows). */
  onJobChanged?: (rolloutId: string) => Promise<void>;
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

export async function handleAdmin(req: IncomingMessage, res: ServerResponse, deps: AdminDeps): Promise<void> {
  if (!deps.adminToken) return sendJson(res, 503, { error: 'the admin API is off: set C2F_ADMIN_TOKEN on the bot' });
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(deps.adminToken);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return sendJson(res, 401, { error: 'missing or wrong admin token' });
  try {
    const result = await route(req, deps);
    sendJson(res, result.status ?? 200, result.body);
  } catch (error) {
    if (error instanceof BadRequest) return sendJson(res, error.status, { error: error.message });
    if (error instanceof HostUrlError) return sendJson(res, 422, { error: error.message });
    if (error instanceof HostNotFoundError) return sendJson(res, 404, { error: error.message });
    if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: error.message });
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

function hostInput(body: Record<string, unknown>, withUrl: boolean): NewHost {
  const name = body.name;
  if (typeof name !== 'string' || !name.trim()) throw new BadRequest('"name" is required');
  const policy = body.policy ?? 'auto';
  if (policy !== 'auto' && policy !== 'notify' && policy !== 'manual') throw new BadRequest('"policy" must be auto, notify or manual');
  const channel = body.channel ?? 'stable';
  if (channel !== 'stable' && channel !== 'prerelease') throw new BadRequest('"channel" must be stable or prerelease');
  const plugins = parsePlugins(body.plugins);
  const allowPrivateNetwork = body.allowPrivateNetwork === true;
  let url: string | null = null;
  if (withUrl) {
    if (typeof body.url !== 'string') throw new BadRequest('"url" is required (or create an enrollment and let the agent enroll itself)');
    url = validateHostUrl(body.url, { allowHttp: body.allowHttp === true, allowPrivateNetwork });
  }
  return { name: name.trim(), url, policy, channel, plugins, allowPrivateNetwork };
}

/** `owner/repo:plugin-id` strings or {repository, pluginId} objects. */
function parsePlugins(value: unknown): Subscription[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new BadRequest('"plugins" must be a list like ["owner/repo:plugin-id"]');
  return value.map((entry) => {
    if (typeof entry === 'string') {
      const match = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+):([a-z0-9][a-z0-9_-]*)$/.exec(entry);
      if (!match) throw new BadRequest(`"${entry}" is not owner/repo:plugin-id`);
      return { repository: match[1], pluginId: match[2] };
    }
    if (entry && typeof entry.repository === 'string' && typeof entry.pluginId === 'string') return { repository: entry.repository, pluginId: entry.pluginId };
    throw new BadRequest('each plugin is "owner/repo:plugin-id"');
  });
}

async function route(req: IncomingMessage, deps: AdminDeps): Promise<{ status?: number; body: unknown }> {
  const { db, box } = deps;
  const path = new URL(req.url ?? '/', 'http://bot').pathname.replace(/\/+$/, '');
  const parts = path.split('/').slice(3); // after /api/admin
  const method = req.method ?? 'GET';

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
      if (!(await removeHost(db, id))) throw new BadRequest(`no host ${id}`, 404);
      return { body: { removed: id } };
    }
    if (parts.length === 3 && parts[2] === 'rotate-secret' && method === 'POST') return { body: { hostId: id, secret: await rotateSecret(db, box, id) } };
  }
  if (parts[0] === 'enrollments' && parts.length === 1 && method === 'POST') {
    const created = await createEnrollment(db, hostInput(await jsonBody(req), false));
    return { status: 201, body: { host: created.host, token: created.token, expiresAt: created.expiresAt } };
  }
  if (parts[0] === 'rollouts') {
    if (parts.length === 1 && method === 'GET') {
      return { body: await db.query('select r.id, r.repository, r.plugin_id as "pluginId", r.version, r.created_at as "createdAt", (select count(*)::int from host_jobs j where j.rollout_id = r.id) as jobs from rollouts r order by r.created_at desc limit 100') };
    }
    const id = parts[1];
    if (parts.length === 2 && method === 'GET') {
      const [rollout] = await db.query('select id, repository, plugin_id as "pluginId", version, release_id as "releaseId", created_at as "createdAt" from rollouts where id = $1', [id]);
      if (!rollout) throw new BadRequest(`no rollout ${id}`, 404);
      return { body: { ...rollout, jobs: await rolloutJobs(db, id) } };
    }
    if (parts.length === 5 && parts[2] === 'jobs' && (method === 'POST' || parts[4] === 'history')) return { body: await jobAction(deps, id, parts[3], parts[4]) };
  }
  throw new BadRequest(`no such admin endpoint: ${method} ${path}`, 404);
}

/** A job never tried goes with its rollout's first pushes; one tried before goes through the per-job queue. */
function enqueuePush(boss: AdminDeps['boss'], job: HostJob, tx: Queryable): Promise<void> {
  return job.attempts === 0 ? enqueueRolloutPushes(boss, job.rolloutId, 0, tx) : enqueueDelivery(boss, job, { attempt: 0 }, 0, tx);
}

async function jobAction(deps: AdminDeps, rolloutId: string, jobId: string, action: string): Promise<unknown> {
  const job = await getJob(deps.db, jobId);
  if (!job || job.rolloutId !== rolloutId) throw new BadRequest(`no job ${jobId} in rollout ${rolloutId}`, 404);
  const done = async (moved: boolean, what: string) => {
    if (!moved) throw new BadRequest(`job ${jobId} is ${job.state}: it cannot be ${what}`, 409);
    await deps.onJobChanged?.(rolloutId);
    return { jobId, action };
  };
  switch (action) {
    case 'approve':
      return done(await deps.db.transaction(async (tx) => {
        const moved = await transitionJob(tx, jobId, ['awaiting_approval'], 'queued', { reason: 'approved by the operator' });
        if (moved) await enqueuePush(deps.boss, job, tx);
        return moved;
      }), 'approved');
    case 'cancel':
      return done(await transitionJob(deps.db, jobId, ['planned', 'awaiting_approval', 'queued', 'delivering'], 'cancelled', { reason: 'cancelled by the operator' }), 'cancelled');
    case 'redeliver':
      return done(await deps.db.transaction(async (tx) => {
        const moved = await transitionJob(tx, jobId, ['dead_lettered', 'failed', 'skipped'], 'queued', { reason: 'redelivered by the operator' });
        if (moved) await enqueuePush(deps.boss, job, tx);
        return moved;
      }), 'redelivered');
    case 'history':
      return jobHistory(deps.db, jobId);
  }
  throw new BadRequest(`unknown job action ${action}: approve, cancel, redeliver or history`, 404);
}
