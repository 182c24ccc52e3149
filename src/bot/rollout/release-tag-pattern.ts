import { parsePluginTag } from '../../plugin/release-tag.ts';

// Which plugin and version a release tag names: Conn2Flow's `plugin-<id>-v<version>` by default, or a
// repository's own pattern from .github/conn2flow-release.yml (`tag-pattern`, a regular expression with
// named groups `id` and `version`; a single-plugin repository may instead name its `plugin-id`).

export interface RepositoryReleaseConfig {
  'tag-pattern'?: string;
  'plugin-id'?: string;
}

export function pluginFromTag(tag: string, config: RepositoryReleaseConfig = {}): { pluginId: string; version: string } | undefined {
  if (config['tag-pattern']) {
    const match = new RegExp(config['tag-pattern']).exec(tag);
    const id = match?.groups?.id ?? config['plugin-id'];
    const version = match?.groups?.version;
    return id && version ? { pluginId: id, version } : undefined;
  }
  const parsed = parsePluginTag(tag);
  if (!parsed) return undefined;
  const pluginId = parsed.pluginId ?? config['plugin-id'];
  return pluginId ? { pluginId, version: parsed.version } : undefined;
}
