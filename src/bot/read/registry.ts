import type { Dependency } from '../../protocol/messages.ts';
import type { ReleasePublisher, Yank } from '../domain.ts';
import type { Queryable } from '../store/database.ts';
import { toRelease } from '../store/releases.ts';

// The registry: the plugins and versions the bot knows from resolved releases, and which hosts run each
// version (from their inventories). Search and list, then one plugin's versions.

export interface RegistryPlugin {
  repository: string;
  pluginId: string;
  versions: number;
  latest: string;
  latestAt: string;
  /** Hosts whose site has the plugin, any version. */
  hosts: number;
}

export interface RegistryVersion {
  releaseId: number;
  version: string;
  tag: string;
  prerelease: boolean;
  size: number | null;
  sha256: string | null;
  dependencies: Dependency[];
  publishedAt: string | null;
  /** Who signed the package, as the bot checked it before planning (null: resolved before the bot kept it). */
  publisher: {
    status: 'verified' | 'unchecked' | 'unsigned';
    signedBy: string | null;
    /** The build provenance: verified (by whom) or not, null when the release has none. */
    provenance?: { status: 'verified' | 'unverified'; builtBy: string | null; reason?: string } | null;
  } | null;
  /** Hosts whose site has this version. */
  hosts: Array<{ id: string; name: string }>;
  /** Set while the version is yanked: nothing of it is sent. */
  yanked: Yank | null;
  /** The release's own rollout (null: it has none yet). */
  rolloutId: string | null;
}

export async function searchRegistry(db: Queryable, q?: string): Promise<RegistryPlugin[]> {
  const rows = await db.query<Record<string, unknown>>(
    `select r.repository, r.plugin_id, count(*)::int as versions,
            (array_agg(r.version order by r.resolved_at desc))[1] as latest, max(r.resolved_at) as latest_at,
            (select count(*)::int from hosts h where h.inventory @> jsonb_build_array(jsonb_build_object('pluginId', r.plugin_id))) as hosts
     from releases r where r.state = 'resolved' and r.plugin_id is not null
       and ($1::text is null or r.plugin_id ilike '%' || $1 || '%' or r.repository ilike '%' || $1 || '%')
     group by r.repository, r.plugin_id order by r.plugin_id, r.repository limit 500`,
    [q?.trim() || null],
  );
  return rows.map((row) => ({
    repository: row.repository as string,
    pluginId: row.plugin_id as string,
    versions: Number(row.versions),
    latest: row.latest as string,
    latestAt: new Date(row.latest_at as string).toISOString(),
    hosts: Number(row.hosts),
  }));
}

export async function registryPlugin(db: Queryable, repository: string, pluginId: string): Promise<RegistryVersion[]> {
  const releases = await db.query<Record<string, unknown>>(
    `select rel.*, (select r.id from rollouts r where r.release_id = rel.id and r.kind = 'release') as rollout_id
     from releases rel where rel.repository = $1 and rel.plugin_id = $2 and rel.state = 'resolved' order by rel.resolved_at desc`,
    [repository, pluginId],
  );
  const running = await db.query<{ id: string; name: string; version: string }>(
    `select h.id, h.name, e->>'version' as version from hosts h, jsonb_array_elements(h.inventory) e where e->>'pluginId' = $1 order by h.name`,
    [pluginId],
  );
  return releases
    .map((row) => ({ release: toRelease(row), rolloutId: (row.rollout_id as string | null) ?? null }))
    .map(({ release, rolloutId }) => ({
      releaseId: release.id,
      version: release.version!,
      tag: release.tag,
      prerelease: release.prerelease,
      size: release.zipSize,
      sha256: release.zipSha256,
      dependencies: release.dependencies ?? [],
      publishedAt: release.publishedAt,
      publisher: release.publisher ? shownPublisher(release.publisher) : null,
      hosts: running.filter((h) => h.version === release.version).map((h) => ({ id: h.id, name: h.name })),
      yanked: release.yanked,
      rolloutId,
    }));
}

/** What the registry shows of who published a version (not the signature or the bundle themselves). */
function shownPublisher({ status, signedBy, provenance }: ReleasePublisher): RegistryVersion['publisher'] {
  if (!provenance) return { status, signedBy, provenance: null };
  const { bundle: _bundle, ...shown } = provenance;
  return { status, signedBy, provenance: shown };
}

/** Who signed a version, and whether the bot could check it. */
export function publisherText(publisher: RegistryVersion['publisher']): string {
  if (!publisher) return 'not recorded';
  if (publisher.status === 'unsigned') return 'unsigned';
  const key = publisher.signedBy ? `key ${publisher.signedBy}` : 'an unreadable signature';
  return publisher.status === 'verified'
    ? `signed by ${key}, verified`
    : `signed by ${key} (not checked: no key required)`;
}

/** Who built a version, as its build provenance says and whether it verified. */
export function provenanceText(publisher: RegistryVersion['publisher']): string {
  const built = publisher?.provenance;
  if (!built) return 'no build provenance';
  if (built.status === 'verified') return `built by ${built.builtBy}, verified`;
  return `build provenance does not verify: ${built.reason ?? 'unknown reason'}`;
}
