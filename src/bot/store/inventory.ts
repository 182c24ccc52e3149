import type { Heartbeat, InventoryEntry } from '../../protocol/messages.ts';
import type { Queryable } from './database.ts';
import type { InventoryRecord } from './rollouts.ts';

// What each host has installed, from the newest word about each plugin: a heartbeat speaks for every plugin
// at its time, a report for its job's plugin at its time. A late heartbeat never undoes a newer report, so
// the bot plans the update after an install from the install's result, not from an older heartbeat.

/**
 * Merges what a host said at `at` into what the bot knew. `scope` 'all' (a heartbeat): plugins it does not
 * list are gone, unless the bot heard of them later. A plugin id: only that plugin (a report). An entry with
 * no version means the plugin is not installed.
 */
export function mergeInventory(
  current: readonly InventoryRecord[],
  said: readonly InventoryEntry[],
  at: string,
  scope: 'all' | string,
): InventoryRecord[] {
  const time = Date.parse(at);
  const newer = (record: InventoryRecord) => record.at !== undefined && Date.parse(record.at) > time;
  const inScope = (pluginId: string) => scope === 'all' || scope === pluginId;
  const byPlugin = new Map(current.map((r) => [r.pluginId, r]));
  for (const record of current) if (inScope(record.pluginId) && !newer(record)) byPlugin.delete(record.pluginId);
  for (const entry of said) {
    if (!inScope(entry.pluginId)) continue;
    const known = byPlugin.get(entry.pluginId);
    if (known && newer(known)) continue;
    if (entry.version === null && !entry.problem) continue;
    byPlugin.set(entry.pluginId, {
      pluginId: entry.pluginId,
      version: entry.version,
      sha256: entry.sha256,
      ...(entry.problem ? { problem: entry.problem } : {}),
      at,
    });
  }
  return [...byPlugin.values()].sort((a, b) => Number(a.pluginId > b.pluginId) - Number(a.pluginId < b.pluginId));
}

/** Read, merge and write one host's inventory; call inside a transaction (the row is locked). */
export async function recordInventory(
  tx: Queryable,
  hostId: string,
  said: readonly InventoryEntry[],
  at: string,
  scope: 'all' | string,
): Promise<void> {
  const [row] = await tx.query<{ inventory: InventoryRecord[] | string }>(
    'select inventory from hosts where id = $1 for update',
    [hostId],
  );
  if (!row) return;
  const current = (typeof row.inventory === 'string' ? JSON.parse(row.inventory) : row.inventory) as InventoryRecord[];
  await tx.query('update hosts set inventory = $2 where id = $1', [
    hostId,
    JSON.stringify(mergeInventory(current, said, at, scope)),
  ]);
}

/** A heartbeat: the host is alive, runs this agent version, and has this inventory. */
export async function recordHeartbeat(tx: Queryable, beat: Heartbeat): Promise<void> {
  await tx.query(
    'update hosts set agent_version = $2, gestor_version = coalesce($3, gestor_version), publishers = $4, last_seen_at = now() where id = $1',
    [
      beat.hostId,
      beat.agentVersion,
      beat.gestorVersion ?? null,
      beat.publishers ? JSON.stringify(beat.publishers) : null,
    ],
  );
  await recordInventory(tx, beat.hostId, beat.inventory, beat.sentAt, 'all');
}
