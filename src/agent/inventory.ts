import type { InventoryEntry } from '../protocol/messages.ts';
import type { InstalledPlugin } from './journal.ts';

// What a site really has. Conn2Flow's `plugins` row is a claim, not evidence: its installer writes the new
// version and package checksum even when it could not replace the files (a folder it may not write), and it
// keeps them after a failed data sync. The files are the truth: the version in gestor/plugins/<id>/
// manifest.json. The row and the agent's own journal are checked against them, and every disagreement is
// reported as a problem rather than papered over. Pure: what was read in, inventory out.

/** One plugin as the installer read it from the site. */
export interface SitePlugin {
  pluginId: string;
  /** The version the plugin's files hold (null: no folder, or no readable manifest.json). */
  filesVersion: string | null;
  /** Conn2Flow's plugins row, when there is one that is not deleted. */
  row: { version: string | null; sha256: string | null; status: string | null } | null;
}

export function reconcileInventory(
  site: readonly SitePlugin[] | undefined,
  journal: readonly InstalledPlugin[],
): InventoryEntry[] {
  // An installer that cannot read the site: the agent's own record is all there is.
  if (!site) return journal.map((p) => ({ pluginId: p.pluginId, version: p.version, sha256: p.sha256 }));
  const ids = [...new Set([...site.map((p) => p.pluginId), ...journal.map((p) => p.pluginId)])].sort();
  const entries: InventoryEntry[] = [];
  for (const pluginId of ids) {
    const seen = site.find((p) => p.pluginId === pluginId);
    const recorded = journal.find((p) => p.pluginId === pluginId);
    const entry = reconcileOne(pluginId, seen, recorded);
    if (entry) entries.push(entry);
  }
  return entries;
}

function reconcileOne(
  pluginId: string,
  seen: SitePlugin | undefined,
  recorded: InstalledPlugin | undefined,
): InventoryEntry | undefined {
  const files = seen?.filesVersion ?? null;
  const row = seen?.row ?? null;
  const problems: string[] = [];
  if (row && row.version !== files) {
    problems.push(
      files === null
        ? `Conn2Flow's plugins row says ${row.version ?? 'no version'} is installed, but gestor/plugins/${pluginId} has no manifest.json`
        : `Conn2Flow's plugins row says ${row.version ?? 'no version'}, but the files are ${files}`,
    );
  }
  if (recorded && recorded.version !== files)
    problems.push(`the agent installed ${recorded.version}, but the files are ${files ?? 'missing'}`);
  if (files === null && !problems.length) return undefined; // nothing there, and nothing claims otherwise
  // The package the files came from: the agent's record when it is of this version, else the row's.
  // The checksum is known only for the version the files hold: the journal's record first, then the site's row.
  const source = [recorded, row].find((r) => files !== null && r?.version === files);
  const sha256 = source?.sha256 ?? null;
  return {
    pluginId,
    version: files,
    sha256,
    ...(problems.length ? { problem: problems.join('; ').slice(0, 500) } : {}),
  };
}
