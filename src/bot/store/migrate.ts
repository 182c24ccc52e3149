import type { Database, Queryable } from './database.ts';
import { MIGRATIONS, type Migration } from './schema.ts';

// Applies pending migrations at start-up, each in its own transaction, under an advisory lock so that
// bot processes starting together on one PostgreSQL apply each migration exactly once.

const LOCK_KEY = 0x0c2f_b07; // any constant shared by every bot process

export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]); // concurrent CREATE TABLE IF NOT EXISTS can still collide
    await tx.query(
      'create table if not exists c2f_schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())',
    );
  });
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
      const present = await tx.query('select 1 from c2f_schema_migrations where version = $1', [migration.version]);
      if (present.length) return false;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('insert into c2f_schema_migrations (version, name) values ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}

/**
 * Splits a migration into statements at a semicolon that ends a line, except inside a dollar-quoted body
 * ($fn$ … $fn$, a function's); ours have no such semicolons inside strings.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  for (const part of sql.split(/(\$[a-z_]*\$[\s\S]*?\$[a-z_]*\$)/)) {
    if (part.startsWith('$')) {
      current += part;
      continue;
    }
    const pieces = part.split(/;\s*\n/);
    current += pieces[0];
    for (const piece of pieces.slice(1)) {
      statements.push(current);
      current = piece;
    }
  }
  statements.push(current);
  return statements.map((s) => s.trim().replace(/;$/, '')).filter(Boolean);
}

/** How many migrations this database has had, or null before the bot first started on it. */
export async function migrationsApplied(db: Queryable): Promise<number | null> {
  const rows = await db.query<{ versions: string }>(
    "select (select count(*) from c2f_schema_migrations)::text as versions where to_regclass('c2f_schema_migrations') is not null",
  );
  return rows.length ? Number(rows[0].versions) : null;
}
