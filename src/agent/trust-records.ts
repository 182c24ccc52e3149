import type { DatabaseSync } from 'node:sqlite';
import { keyIdText, parsePublicKey } from '../plugin/minisign.ts';
import type { KeyStatement } from '../plugin/key-statement.ts';

// What this host learned about publishers' keys, in its journal: keys pinned on first use, keys a publisher's
// statement added or retired, and the last statement applied per plugin (an older one is a replay).

export interface StoredKey {
  keyId: string;
  key: string;
  source: 'first-use' | 'statement';
  retired: boolean;
}

type Row = Record<string, string | number | null>;

export class TrustRecords {
  private readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  keysOf(pluginId: string): StoredKey[] {
    return (
      this.db.prepare('select * from publisher_keys where plugin_id = ? order by added_at').all(pluginId) as Row[]
    ).map((r) => ({
      keyId: String(r.key_id),
      key: String(r.key),
      source: r.source as StoredKey['source'],
      retired: r.retired_at !== null,
    }));
  }

  /** Plugins this host holds keys for (pinned on first use or added by a statement). */
  plugins(): string[] {
    return (this.db.prepare('select distinct plugin_id from publisher_keys order by plugin_id').all() as Row[]).map(
      (r) => String(r.plugin_id),
    );
  }

  pinFirstUse(pluginId: string, key: string): void {
    this.db
      .prepare(
        "insert into publisher_keys (plugin_id, key_id, key, source, added_at) values (?, ?, ?, 'first-use', ?) on conflict do nothing",
      )
      .run(pluginId, keyIdText(parsePublicKey(key).keyId), key, new Date().toISOString());
  }

  lastStatement(pluginId: string): { sequence: number; sha256: string } | undefined {
    const row = this.db.prepare('select sequence, sha256 from key_statements where plugin_id = ?').get(pluginId) as
      | Row
      | undefined;
    return row && { sequence: Number(row.sequence), sha256: String(row.sha256) };
  }

  /** Applies a verified statement in one transaction: its keys added, its key ids retired, its sequence kept. */
  applyStatement(statement: KeyStatement, sha256: string): void {
    const now = new Date().toISOString();
    this.db.exec('begin immediate');
    try {
      for (const key of statement.add)
        this.db
          .prepare(
            "insert into publisher_keys (plugin_id, key_id, key, source, added_at) values (?, ?, ?, 'statement', ?) on conflict (plugin_id, key_id) do update set retired_at = null",
          )
          .run(statement.plugin, keyIdText(parsePublicKey(key).keyId), key, now);
      for (const keyId of statement.retire)
        this.db
          .prepare(
            "insert into publisher_keys (plugin_id, key_id, key, source, added_at, retired_at) values (?, ?, '', 'statement', ?, ?) on conflict (plugin_id, key_id) do update set retired_at = excluded.retired_at",
          )
          .run(statement.plugin, keyId, now, now);
      this.db
        .prepare(
          'insert into key_statements (plugin_id, sequence, sha256, applied_at) values (?, ?, ?, ?) on conflict (plugin_id) do update set sequence = excluded.sequence, sha256 = excluded.sha256, applied_at = excluded.applied_at',
        )
        .run(statement.plugin, statement.sequence, sha256, now);
      this.db.exec('commit');
    } catch (error) {
      try {
        this.db.exec('rollback');
      } catch {}
      throw error;
    }
  }
}
