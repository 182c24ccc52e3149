import path from 'node:path';
import { PACKAGE_NAME } from '../plugin/pack.ts';
import { compareVersions } from '../versions.ts';
import { parsePluginTag } from '../plugin/release-tag.ts';
import type { Release, ReleaseApi } from './release-api.ts';

// The previous release of the same plugin: the highest version below ours among published releases whose
// tag has the same prefix. Its gestor-plugin.zip is the `versao` baseline.

export interface PreviousPackage {
  release: Release;
  zip: string;
}

export async function findPreviousRelease(
  api: ReleaseApi,
  prefix: string,
  version: string,
): Promise<Release | undefined> {
  let best: { release: Release; version: string } | undefined;
  for (const release of await api.listReleases()) {
    if (release.draft || !release.tagName.startsWith(prefix)) continue;
    const tag = parsePluginTag(release.tagName);
    if (!tag || tag.prefix !== prefix) continue;
    if ((compareVersions(tag.version, version) ?? 0) >= 0) continue;
    if (!best || (compareVersions(tag.version, best.version) ?? 0) > 0) best = { release, version: tag.version };
  }
  return best?.release;
}

/** Downloads the previous release's package into `dir`; undefined when there is none. */
export async function downloadPreviousPackage(
  api: ReleaseApi,
  prefix: string,
  version: string,
  dir: string,
): Promise<PreviousPackage | { release: Release; zip: undefined } | undefined> {
  const release = await findPreviousRelease(api, prefix, version);
  if (!release) return undefined;
  const asset = (await api.listAssets(release.id)).find((a) => a.name === PACKAGE_NAME);
  if (!asset) return { release, zip: undefined };
  const zip = path.join(dir, `previous-${release.tagName.replace(/[^A-Za-z0-9._-]/g, '_')}.zip`);
  await api.downloadAsset(asset.id, zip);
  return { release, zip };
}
