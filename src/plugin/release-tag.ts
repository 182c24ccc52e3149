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

/** Compares x.y.z[-pre] versions the semver way; undefined when either is not a version. */
export function compareVersions(a: string, b: string): number | undefined {
  const parse = (v: string) => /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$/.exec(v);
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return undefined;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return Math.sign(d);
  }
  if (x[4] === y[4]) return 0;
  if (!x[4]) return 1; // a release ranks above its pre-releases
  if (!y[4]) return -1;
  const pa = x[4].split('.');
  const pb = y[4].split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === undefined) return -1;
    if (pb[i] === undefined) return 1;
    const na = /^\d+$/.test(pa[i]);
    const nb = /^\d+$/.test(pb[i]);
    if (na && nb && Number(pa[i]) !== Number(pb[i])) return Math.sign(Number(pa[i]) - Number(pb[i]));
    if (na !== nb) return na ? -1 : 1;
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return 0;
}
