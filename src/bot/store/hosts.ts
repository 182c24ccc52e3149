import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { generateSecret } from '../../protocol/signing.ts';
import type { Database, Queryable } from './database.ts';
import type { MaintenanceWindow } from '../domain.ts';
import type { PublisherSummary } from '../../protocol/messages.ts';
import type { InventoryRecord } from './rollouts.ts';
import type { SecretBox } from './secret-box.ts';

// Hosts: where they are, how they take updates (policy, channel), which plugins they follow, and their
// signing secrets (sealed at rest; during a rotation the previous one is kept until the host has switched).

export type Policy = 'auto' | 'notify' | 'manual';
export type Channel = 'stable' | 'prerelease';

export interface Subscription {
  repository: string;
  pluginId: string;
}

export interface HostRecord {
  id: string;
  name: string;
  url: string | null;
  policy: Policy;
  channel: Channel;
  enabled: boolean;
  allowPrivateNetwork: boolean;
  enrolled: boolean;
  lastSeenAt: string | null;
  agentVersion: string | null;
  /** The Conn2Flow version the host's site runs, from its heartbeats (null until one says). */
  gestorVersion: string | null;
  /** The plugins whose publisher the host checks itself, from its heartbeats (null: none it said). */
  publishers: Record<string, PublisherSummary> | null;
  inventory: InventoryRecord[];
  plugins: Subscription[];
  /** Waves select hosts by label. */
  labels: string[];
  /** The host's maintenance windows (null: none of its own; its labels' apply) and their time zone. */
  timeZone: string | null;
  windows: MaintenanceWindow[] | null;
  createdAt: string;
}

export interface NewHost {
  name: string;
  url: string | null;
  policy: Policy;
  channel: Channel;
  plugins: Subscription[];
  allowPrivateNetwork?: boolean;
  labels?: string[];
  timeZone?: string | null;
  windows?: MaintenanceWindow[] | null;
}

/** What `hosts update` may change; absent fields stay. */
export interface HostChanges {
  policy?: Policy;
  channel?: Channel;
  enabled?: boolean;
  labels?: string[];
  timeZone?: string | null;
  windows?: MaintenanceWindow[] | null;
}

export class HostNotFoundError extends Error {}
/** Names tell hosts apart in every list: a second host of the same name is refused. */
export class HostNameTakenError extends Error {}
export class EnrollmentError extends Error {}

const ENROLLMENT_TTL_MS = 24 * 60 * 60 * 1000;
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

async function insertHost(tx: Queryable, id: string, host: NewHost, secretSealed: string | null): Promise<void> {
  // Two requests for one name at once: the second waits for the first, then finds its host.
  await tx.query('select pg_advisory_xact_lock(hashtext(lower($1)))', [host.name]);
  const [taken] = await tx.query<{ id: string }>('select id from hosts where lower(name) = lower($1) limit 1', [
    host.name,
  ]);
  if (taken)
    throw new HostNameTakenError(
      `a host named ${JSON.stringify(host.name)} exists already (${taken.id}): choose another name, or remove that host first`,
    );
  await tx.query(
    `insert into hosts (id, name, url, policy, channel, allow_private_network, secret_sealed, enrolled_at, labels, time_zone, windows)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      id,
      host.name,
      host.url,
      host.policy,
      host.channel,
      Boolean(host.allowPrivateNetwork),
      secretSealed,
      secretSealed ? new Date().toISOString() : null,
      [...new Set(host.labels ?? [])].sort(),
      host.timeZone ?? null,
      host.windows ? JSON.stringify(host.windows) : null,
    ],
  );
  for (const s of host.plugins) {
    await tx.query(
      'insert into subscriptions (host_id, repository, plugin_id) values ($1, $2, $3) on conflict do nothing',
      [id, s.repository, s.pluginId],
    );
  }
}

/** Registers a host with a known URL; returns its secret, shown once. */
export async function addHost(
  db: Database,
  box: SecretBox,
  host: NewHost,
): Promise<{ host: HostRecord; secret: string }> {
  const id = `host_${randomUUID().slice(0, 8)}`;
  const secret = generateSecret();
  await db.transaction((tx) => insertHost(tx, id, host, box.seal(secret)));
  return { host: (await getHost(db, id))!, secret };
}

/** Registers a host that will enroll itself: returns a one-time token for its agent. */
export async function createEnrollment(
  db: Database,
  host: Omit<NewHost, 'url'>,
  ttlMs = ENROLLMENT_TTL_MS,
): Promise<{ host: HostRecord; token: string; expiresAt: string }> {
  const id = `host_${randomUUID().slice(0, 8)}`;
  const token = `c2fenroll_${randomBytes(24).toString('base64url')}`;
  const expiresAt = new Date(Date.now() + ttlMs).toISOString();
  await db.transaction(async (tx) => {
    await insertHost(tx, id, { ...host, url: null }, null);
    await tx.query('insert into enrollment_tokens (token_hash, host_id, expires_at) values ($1, $2, $3)', [
      hashToken(token),
      id,
      expiresAt,
    ]);
  });
  return { host: (await getHost(db, id))!, token, expiresAt };
}

/** The network policy the operator set for a pending enrollment (its URL is checked against it). */
export async function enrollmentPolicy(
  db: Queryable,
  token: string,
): Promise<{ allowPrivateNetwork: boolean } | undefined> {
  const [row] = await db.query<{ allow_private_network: boolean }>(
    'select h.allow_private_network from enrollment_tokens t join hosts h on h.id = t.host_id where t.token_hash = $1',
    [hashToken(token)],
  );
  return row && { allowPrivateNetwork: row.allow_private_network };
}

/** Trades a one-time token for the host's id and secret; a token works once and only before it expires. */
export async function enroll(
  db: Database,
  box: SecretBox,
  token: string,
  url: string | null,
  agentVersion: string,
): Promise<{ hostId: string; secret: string }> {
  const secret = generateSecret();
  const hostId = await db.transaction(async (tx) => {
    const rows = await tx.query<{ host_id: string; expires_at: Date | string; used_at: Date | string | null }>(
      'select host_id, expires_at, used_at from enrollment_tokens where token_hash = $1 for update',
      [hashToken(token)],
    );
    const row = rows[0];
    if (!row) throw new EnrollmentError('unknown enrollment token');
    if (row.used_at)
      throw new EnrollmentError('this enrollment token has been used already: ask the operator for a new one');
    if (new Date(row.expires_at).getTime() < Date.now())
      throw new EnrollmentError('this enrollment token has expired: ask the operator for a new one');
    await tx.query('update enrollment_tokens set used_at = now() where token_hash = $1', [hashToken(token)]);
    await tx.query(
      'update hosts set url = $2, secret_sealed = $3, enrolled_at = now(), agent_version = $4 where id = $1',
      [row.host_id, url, box.seal(secret), agentVersion],
    );
    return row.host_id;
  });
  return { hostId, secret };
}

export async function listHosts(db: Queryable): Promise<HostRecord[]> {
  const rows = await db.query<HostRow>('select * from hosts order by created_at, id');
  const subs = await db.query<{ host_id: string; repository: string; plugin_id: string }>(
    'select * from subscriptions order by repository, plugin_id',
  );
  const byHost = bySubscriber(subs);
  return rows.map((row) => toHost(row, byHost.get(row.id) ?? []));
}

export async function hostsWithIds(db: Queryable, ids: readonly string[]): Promise<Map<string, HostRecord>> {
  if (!ids.length) return new Map();
  const rows = await db.query<HostRow>('select * from hosts where id = any($1)', [ids]);
  return new Map((await withSubscriptions(db, rows)).map((host) => [host.id, host]));
}

/** The hosts that follow a plugin (a release's candidates), each with everything it follows, oldest first. */
export async function hostsFollowing(db: Queryable, repository: string, pluginId: string): Promise<HostRecord[]> {
  const rows = await db.query<HostRow>(
    `select h.* from hosts h
     where exists (select 1 from subscriptions s where s.host_id = h.id and s.repository = $1 and s.plugin_id = $2)
     order by h.created_at, h.id`,
    [repository, pluginId],
  );
  return withSubscriptions(db, rows);
}

async function withSubscriptions(db: Queryable, rows: HostRow[]): Promise<HostRecord[]> {
  if (!rows.length) return [];
  const subs = await db.query<{ host_id: string; repository: string; plugin_id: string }>(
    'select * from subscriptions where host_id = any($1) order by repository, plugin_id',
    [rows.map((row) => row.id)],
  );
  const byHost = bySubscriber(subs);
  return rows.map((row) => toHost(row, byHost.get(row.id) ?? []));
}

function bySubscriber<T extends { host_id: string }>(subs: readonly T[]): Map<string, T[]> {
  const byHost = new Map<string, T[]>();
  for (const sub of subs) {
    const list = byHost.get(sub.host_id);
    if (list) list.push(sub);
    else byHost.set(sub.host_id, [sub]);
  }
  return byHost;
}

export async function getHost(db: Queryable, id: string): Promise<HostRecord | undefined> {
  const [row] = await db.query<HostRow>('select * from hosts where id = $1', [id]);
  if (!row) return undefined;
  const subs = await db.query<{ host_id: string; repository: string; plugin_id: string }>(
    'select * from subscriptions where host_id = $1 order by repository, plugin_id',
    [id],
  );
  return toHost(row, subs);
}

/** Changes a host's policy, channel, labels or windows; the host as it is now, or undefined when there is none. */
export async function updateHost(db: Queryable, id: string, changes: HostChanges): Promise<HostRecord | undefined> {
  const columns: Record<keyof HostChanges, string> = {
    policy: 'policy',
    channel: 'channel',
    enabled: 'enabled',
    labels: 'labels',
    timeZone: 'time_zone',
    windows: 'windows',
  };
  const entries = (Object.keys(columns) as Array<keyof HostChanges>).filter((key) => changes[key] !== undefined);
  if (entries.length) {
    const stored: Partial<Record<keyof HostChanges, unknown>> = {
      windows: changes.windows ? JSON.stringify(changes.windows) : null,
      labels: [...new Set(changes.labels)].sort(),
    };
    const value = (key: keyof HostChanges) => (key in stored ? stored[key] : changes[key]);
    const rows = await db.query(
      `update hosts set ${entries.map((key, i) => `${columns[key]} = $${i + 2}`).join(', ')} where id = $1 returning id`,
      [id, ...entries.map(value)],
    );
    if (!rows.length) return undefined;
  }
  return getHost(db, id);
}

export interface LabelSchedule {
  label: string;
  timeZone: string;
  windows: MaintenanceWindow[];
}

/** Maintenance windows for every host with the label (hosts with windows of their own keep theirs). */
export async function setLabelSchedule(db: Queryable, schedule: LabelSchedule): Promise<void> {
  await db.query(
    `insert into label_schedules (label, time_zone, windows) values ($1, $2, $3)
     on conflict (label) do update set time_zone = excluded.time_zone, windows = excluded.windows, updated_at = now()`,
    [schedule.label, schedule.timeZone, JSON.stringify(schedule.windows)],
  );
}

export async function removeLabelSchedule(db: Queryable, label: string): Promise<boolean> {
  return (await db.query('delete from label_schedules where label = $1 returning label', [label])).length > 0;
}

export async function listLabelSchedules(db: Queryable): Promise<LabelSchedule[]> {
  const rows = await db.query<{ label: string; time_zone: string; windows: MaintenanceWindow[] | string }>(
    'select * from label_schedules order by label',
  );
  return rows.map((r) => ({
    label: r.label,
    timeZone: r.time_zone,
    windows: typeof r.windows === 'string' ? JSON.parse(r.windows) : r.windows,
  }));
}

export async function removeHost(db: Queryable, id: string): Promise<boolean> {
  const rows = await db.query('delete from hosts where id = $1 returning id', [id]);
  return rows.length > 0;
}

/** A new secret; the previous one stays valid until finishRotation (both sign pushes meanwhile). */
export async function rotateSecret(db: Database, box: SecretBox, id: string): Promise<string> {
  const secret = generateSecret();
  const rows = await db.query(
    'update hosts set previous_secret_sealed = secret_sealed, secret_sealed = $2 where id = $1 and secret_sealed is not null returning id',
    [id, box.seal(secret)],
  );
  if (!rows.length) throw new HostNotFoundError(`no enrolled host ${id}`);
  return secret;
}

export async function finishRotation(db: Queryable, id: string): Promise<void> {
  await db.query('update hosts set previous_secret_sealed = null where id = $1', [id]);
}

/** The secrets a message from or to this host may be signed with: current first. */
export async function hostSecrets(db: Queryable, box: SecretBox, id: string): Promise<string[]> {
  const [row] = await db.query<{ secret_sealed: string | null; previous_secret_sealed: string | null }>(
    'select secret_sealed, previous_secret_sealed from hosts where id = $1',
    [id],
  );
  if (!row?.secret_sealed) return [];
  return [row.secret_sealed, row.previous_secret_sealed].filter((s): s is string => Boolean(s)).map((s) => box.open(s));
}

interface HostRow {
  id: string;
  name: string;
  url: string | null;
  policy: Policy;
  channel: Channel;
  enabled: boolean;
  allow_private_network: boolean;
  secret_sealed: string | null;
  last_seen_at: Date | string | null;
  agent_version: string | null;
  gestor_version?: string | null;
  publishers?: HostRecord['publishers'] | string;
  inventory: HostRecord['inventory'] | string;
  labels: string[] | null;
  time_zone: string | null;
  windows: MaintenanceWindow[] | string | null;
  created_at: Date | string;
}

function toHost(row: HostRow, subs: Array<{ repository: string; plugin_id: string }>): HostRecord {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    policy: row.policy,
    channel: row.channel,
    enabled: row.enabled,
    allowPrivateNetwork: row.allow_private_network,
    enrolled: row.secret_sealed !== null,
    lastSeenAt: row.last_seen_at ? new Date(row.last_seen_at).toISOString() : null,
    agentVersion: row.agent_version,
    gestorVersion: row.gestor_version ?? null,
    publishers: (typeof row.publishers === 'string' ? JSON.parse(row.publishers) : row.publishers) ?? null,
    inventory: typeof row.inventory === 'string' ? JSON.parse(row.inventory) : row.inventory,
    plugins: subs.map((s) => ({ repository: s.repository, pluginId: s.plugin_id })),
    labels: row.labels ?? [],
    timeZone: row.time_zone,
    windows: typeof row.windows === 'string' ? JSON.parse(row.windows) : row.windows,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** What a host's page shows, in short: a live page is told of a change only when this differs. */
export async function hostSignature(db: Queryable, hostId: string): Promise<string | undefined> {
  const [row] = await db.query<{ signature: string }>(
    `select concat_ws('|', h.last_seen_at, h.agent_version, md5(h.inventory::text), h.policy, h.channel, h.enabled,
       (select concat(max(updated_at), '/', count(*)) from host_jobs where host_id = h.id)) as signature
     from hosts h where h.id = $1`,
    [hostId],
  );
  return row?.signature;
}
