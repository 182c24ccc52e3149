// Release tags as Conn2Flow uses them: `plugin-<id>-v<version>` in multi-plugin repositories, `v<version>`
// (or a bare version) in single-plugin ones.

export interface PluginTag {
  /** The plugin id in `plugin-<id>-v…`, undefined for `v…`. */
  pluginId?: string;
  version: string;
  /** What every release of the same plugin's tag starts with. */
  prefix: string;
}

const SEMVER = '(\\d+\\.\\d+\\.\\d+(?:-[0-9A-Za-z.-]+)?(?:\\+[0-9A-Za-z.-]+)?)';
const PLUGIN_TAG = new RegExp(`^plugin-(.+)-v${SEMVER}$`);
const VERSION_TAG = new RegExp(`^(v?)${SEMVER}$`);

export function parsePluginTag(tag: string): PluginTag | undefined {
  const plugin = PLUGIN_TAG.exec(tag);
  if (plugin) return { pluginId: plugin[1], version: plugin[2], prefix: `plugin-${plugin[1]}-v` };
  const version = VERSION_TAG.exec(tag);
  if (version) return { version: version[2], prefix: version[1] };
  return undefined;
}
