import type { Compatibility } from '../../protocol/compatibility.ts';
import type { Dependency } from '../../protocol/messages.ts';
import type { ReleasePublisher } from '../domain.ts';
import type { Strategy, Yank } from '../domain.ts';
import type { Queryable } from './database.ts';

// Releases as GitHub announced them, and what resolving each one found: the plugin and version its tag
// names and its package, or why it never became a rollout.

export interface ReleaseRow {
  id: number;
  repository: string;
  installationId: number | null;
  tag: string;
  pluginId: string | null;
  version: string | null;
  prerelease: boolean;
  privateRepository: boolean;
  state: string;
  zipAssetId: number | null;
  zipUrl: string | null;
  zipSize: number | null;
  zipSha256: string | null;
  error: string | null;
  resolveFailures: number;
  checkRunId: number | null;
  /** What the package's manifest says the plugin needs on a site (null until resolved). */
  dependencies: Dependency[] | null;
  /** When GitHub published the release (its age counts from there). */
  publishedAt: string | null;
  /** The Conn2Flow versions the package is written for (its manifest's compatibility); null: any. */
  compatibility: Compatibility | null;
  /** Who signed the package (null until resolved, and for releases resolved before it was kept). */
  publisher: ReleasePublisher | null;
  /** The rollout strategy it was resolved with (null until resolved, and for releases resolved before it was kept). */
  strategy: Strategy | null;
  /** Set while the release is yanked: nothing of it is sent (installs, retries, forces, rollbacks to it). */
  yanked: Yank | null;
  receivedAt: string;
}

/** GitHub sends each delivery once and never retries; a redelivery keeps its id. */
export type ReleaseWebhook = {
  deliveryId: string;
  action: string;
  release: Pick<ReleaseRow, 'id' | 'repository' | 'installationId' | 'tag' | 'prerelease' | 'privateRepository'>;
};

/**
 * Release webhooks, stored in one statement (one round trip, one commit): every delivery, and each release
 * once per release id whatever GitHub sends, except that a pre-release later published as a release stops
 * being one (and is queued again, so its rollout reaches the stable channel). For each webhook, true when it
 * brought a new or newly promoted release (the first of the batch to name it). Queuing resolutions is left
 * to the release intake, so the answer to GitHub waits on nothing else.
 */
export async function recordReleaseWebhooks(db: Queryable, webhooks: readonly ReleaseWebhook[]): Promise<boolean[]> {
  if (!webhooks.length) return [];
  const column = <T>(pick: (w: ReleaseWebhook) => T) => webhooks.map(pick);
  const rows = await db.query<{ id: string }>(
    `with input as (
       select * from unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::boolean[], $6::boolean[], $7::text[], $8::text[])
         with ordinality as t(id, repository, installation_id, tag, prerelease, private_repository, delivery_id, action, n)
     ),
     delivery as (insert into webhook_deliveries (delivery_id, event, action) select delivery_id, 'release', action from input on conflict do nothing)
     insert into releases (id, repository, installation_id, tag, prerelease, private_repository)
     select distinct on (id) id, repository, installation_id, tag, prerelease, private_repository from input order by id, n desc
     on conflict (id) do update set prerelease = false, queued_at = null where releases.prerelease and not excluded.prerelease
     returning id`,
    [
      column((w) => w.release.id),
      column((w) => w.release.repository),
      column((w) => w.release.installationId),
      column((w) => w.release.tag),
      column((w) => w.release.prerelease),
      column((w) => w.release.privateRepository),
      column((w) => w.deliveryId),
      column((w) => w.action),
    ],
  );
  const fresh = new Set(rows.map((r) => Number(r.id)));
  return webhooks.map((w) => fresh.delete(w.release.id));
}

/**
 * Releases recorded but not yet handed to the queue, claimed by this transaction (other processes skip
 * them) and marked queued; the caller queues them in the same transaction.
 */
export async function claimReceivedReleases(
  tx: Queryable,
  limit = 500,
): Promise<Array<{ id: number; installationId: number }>> {
  const rows = await tx.query<{ id: string; installation_id: string }>(
    `update releases set queued_at = now() where id in (
       select id from releases where queued_at is null order by received_at limit $1 for update skip locked
     ) returning id, installation_id`,
    [limit],
  );
  return rows.map((r) => ({ id: Number(r.id), installationId: Number(r.installation_id) }));
}

export async function getRelease(db: Queryable, id: number): Promise<ReleaseRow | undefined> {
  const [row] = await db.query<Record<string, unknown>>('select * from releases where id = $1', [id]);
  return row && toRelease(row);
}

/** Releases by id, in one query. */
export async function releasesWithIds(db: Queryable, ids: readonly number[]): Promise<ReleaseRow[]> {
  if (!ids.length) return [];
  const rows = await db.query<Record<string, unknown>>('select * from releases where id = any($1)', [ids]);
  return rows.map(toRelease);
}

type ReleaseFields = Partial<
  Pick<
    ReleaseRow,
    | 'pluginId'
    | 'version'
    | 'state'
    | 'zipAssetId'
    | 'zipUrl'
    | 'zipSize'
    | 'zipSha256'
    | 'error'
    | 'dependencies'
    | 'publishedAt'
    | 'strategy'
    | 'compatibility'
    | 'publisher'
  >
>;
const JSON_FIELDS = new Set(['dependencies', 'strategy', 'compatibility', 'publisher']);

export async function updateRelease(db: Queryable, id: number, fields: ReleaseFields): Promise<void> {
  const columns: Record<string, string> = {
    pluginId: 'plugin_id',
    version: 'version',
    state: 'state',
    zipAssetId: 'zip_asset_id',
    zipUrl: 'zip_url',
    zipSize: 'zip_size',
    zipSha256: 'zip_sha256',
    error: 'error',
    dependencies: 'dependencies',
    publishedAt: 'published_at',
    strategy: 'strategy',
    compatibility: 'compatibility',
    publisher: 'publisher',
  };
  const entries = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, JSON_FIELDS.has(k) && v !== null ? JSON.stringify(v) : v] as const);
  if (!entries.length) return;
  const sets = entries.map(([k], i) => `${columns[k]} = $${i + 2}`);
  if (fields.state === 'resolved') sets.push('resolved_at = now()');
  await db.query(`update releases set ${sets.join(', ')} where id = $1`, [id, ...entries.map(([, v]) => v)]);
}

/** A failed try at resolving a release, kept with its reason (the queue tries again). Returns the count. */
export async function recordResolveFailure(db: Queryable, id: number, reason: string): Promise<number> {
  const [row] = await db.query<{ resolve_failures: number }>(
    'update releases set resolve_failures = resolve_failures + 1, error = $2 where id = $1 and state = $3 returning resolve_failures',
    [id, reason, 'received'],
  );
  return row?.resolve_failures ?? 0;
}

export async function setReleaseCheckRun(db: Queryable, releaseId: number, checkRunId: number): Promise<void> {
  await db.query('update releases set check_run_id = $2 where id = $1 and check_run_id is null', [
    releaseId,
    checkRunId,
  ]);
}

/** The resolved release of a plugin at a version, the newest if GitHub has several. */
export async function findRelease(
  db: Queryable,
  repository: string,
  pluginId: string,
  version: string,
): Promise<ReleaseRow | undefined> {
  const [row] = await db.query<Record<string, unknown>>(
    "select * from releases where repository = $1 and plugin_id = $2 and version = $3 and state = 'resolved' order by resolved_at desc limit 1",
    [repository, pluginId, version],
  );
  return row && toRelease(row);
}

/** A resolved release whose package is this one (the same bytes may be released twice). */
export async function findReleaseByPackage(
  db: Queryable,
  repository: string,
  pluginId: string,
  sha256: string,
): Promise<ReleaseRow | undefined> {
  const [row] = await db.query<Record<string, unknown>>(
    "select * from releases where repository = $1 and plugin_id = $2 and zip_sha256 = $3 and state = 'resolved' order by resolved_at desc limit 1",
    [repository, pluginId, sha256],
  );
  return row && toRelease(row);
}

/** Resolved releases of a plugin, newest first (what a rollback may go back to). */
export async function pluginReleases(db: Queryable, repository: string, pluginId: string): Promise<ReleaseRow[]> {
  const rows = await db.query<Record<string, unknown>>(
    "select * from releases where repository = $1 and plugin_id = $2 and state = 'resolved' order by resolved_at desc",
    [repository, pluginId],
  );
  return rows.map(toRelease);
}

/** Releases that have not become a rollout (still resolving, failed or ignored), newest first. */
export async function releasesWithoutRollout(db: Queryable, limit = 100): Promise<ReleaseRow[]> {
  const rows = await db.query<Record<string, unknown>>(
    `select * from releases rel where not exists (select 1 from rollouts r where r.release_id = rel.id and r.kind = 'release')
     order by received_at desc limit $1`,
    [limit],
  );
  return rows.map(toRelease);
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function toRelease(row: Record<string, unknown>): ReleaseRow {
  return {
    id: Number(row.id),
    repository: row.repository as string,
    installationId: num(row.installation_id),
    tag: row.tag as string,
    pluginId: (row.plugin_id as string | null) ?? null,
    version: (row.version as string | null) ?? null,
    prerelease: Boolean(row.prerelease),
    privateRepository: Boolean(row.private_repository),
    state: row.state as string,
    zipAssetId: num(row.zip_asset_id),
    zipUrl: (row.zip_url as string | null) ?? null,
    zipSize: num(row.zip_size),
    zipSha256: (row.zip_sha256 as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    resolveFailures: Number(row.resolve_failures ?? 0),
    checkRunId: num(row.check_run_id),
    dependencies:
      (typeof row.dependencies === 'string'
        ? JSON.parse(row.dependencies)
        : (row.dependencies as Dependency[] | null)) ?? null,
    publishedAt: row.published_at ? new Date(row.published_at as string).toISOString() : null,
    compatibility:
      (typeof row.compatibility === 'string'
        ? JSON.parse(row.compatibility)
        : (row.compatibility as Compatibility | null)) ?? null,
    strategy: (typeof row.strategy === 'string' ? JSON.parse(row.strategy) : (row.strategy as Strategy | null)) ?? null,
    publisher:
      (typeof row.publisher === 'string' ? JSON.parse(row.publisher) : (row.publisher as ReleasePublisher | null)) ??
      null,
    yanked: row.yanked_at
      ? {
          at: new Date(row.yanked_at as string).toISOString(),
          by: (row.yanked_by as string | null) ?? null,
          reason: (row.yank_reason as string | null) ?? '',
        }
      : null,
    receivedAt: new Date(row.received_at as string).toISOString(),
  };
}

/** The release, its row locked until the transaction ends. */
export async function lockRelease(tx: Queryable, releaseId: number): Promise<ReleaseRow | undefined> {
  const [row] = await tx.query<Record<string, unknown>>('select * from releases where id = $1 for update', [releaseId]);
  return row && toRelease(row);
}

/** Marks the release yanked, or not (null). */
export async function setYanked(
  tx: Queryable,
  releaseId: number,
  yank: { by: string | null; reason: string } | null,
): Promise<void> {
  await tx.query('update releases set yanked_at = $2, yanked_by = $3, yank_reason = $4 where id = $1', [
    releaseId,
    yank ? new Date().toISOString() : null,
    yank?.by ?? null,
    yank?.reason ?? null,
  ]);
}

/** Of these releases, the yanked ones. */
export async function yankedAmong(db: Queryable, releaseIds: readonly number[]): Promise<ReleaseRow[]> {
  if (!releaseIds.length) return [];
  const rows = await db.query<Record<string, unknown>>(
    'select * from releases where id = any($1::bigint[]) and yanked_at is not null',
    [[...new Set(releaseIds)]],
  );
  return rows.map(toRelease);
}

/** An event about a release itself (a publisher signature that does not verify). */
export async function recordReleaseEvent(
  db: Queryable,
  kind: string,
  release: Pick<ReleaseRow, 'repository'>,
  pluginId: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await db.query('insert into events (kind, repository, plugin_id, detail) values ($1, $2, $3, $4)', [
    kind,
    release.repository,
    pluginId,
    JSON.stringify(detail),
  ]);
}
