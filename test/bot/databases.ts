import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import { PgBoss, fromPglite } from 'pg-boss';
import { openPglite, openPostgres, type Database } from '../../src/bot/store/database.ts';
import { migrate } from '../../src/bot/store/migrate.ts';
import { MIGRATIONS } from '../../src/bot/store/schema.ts';
import { SecretBox } from '../../src/bot/store/secret-box.ts';
import { REPO, run, tempDir } from '../helpers.ts';

// Fresh, migrated databases for tests, on both engines. PGlite: a migrated template folder made once per
// test run and copied (creating a PGlite cluster takes seconds). PostgreSQL: a new database per call on the
// server TEST_DATABASE_URL points at (.ci/run starts one), copied from a migrated template, dropped when the
// file ends. Both templates hold pg-boss's schema too (no queues: each bot creates them with its settings).

if (process.env.C2F_TEST_TIER === 'unit') {
  throw new Error(
    'this test file needs a database, which the unit tier (npm run test:unit) has none of: list it in FULL_SUITE_ONLY of scripts/test-unit.ts',
  );
}

export const ENGINES = ['pglite', 'postgres'] as const;

const packageVersion = async (name: string) =>
  (JSON.parse(await readFile(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;
const PGLITE_VERSION = await packageVersion('@electric-sql/pglite');
const PG_BOSS_VERSION = await packageVersion('pg-boss');
export type Engine = (typeof ENGINES)[number];

export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');
export const testBox = SecretBox.fromEnvironment(TEST_SECRET_KEY);

let template: Promise<string> | undefined;

/** Names a template by what builds it: our migrations and pg-boss's version (and PGlite's, for its folders). */
function schemaKey(...more: string[]): string {
  const hash = createHash('sha256').update(JSON.stringify(MIGRATIONS)).update(PG_BOSS_VERSION);
  for (const part of more) hash.update(part);
  return hash.digest('hex');
}
const dropped: string[] = [];
const opened: Database[] = [];

after(async () => {
  await Promise.all(opened.map((db) => db.close().catch(() => {})));
  if (!dropped.length) return;
  // Best effort, and the connection always ends: an open client would keep the test process alive forever.
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  try {
    for (const name of dropped)
      await admin
        .query(`drop database if exists ${name} with (force)`)
        .catch((error: Error) => process.stderr.write(`could not drop test database ${name}: ${error.message}\n`));
  } finally {
    await admin.end();
  }
});

export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'TEST_DATABASE_URL is not set: the store and queue tests also run on a real PostgreSQL. Run "bash .ci/run", or start PostgreSQL and set TEST_DATABASE_URL=postgres://user:password@127.0.0.1:5432/postgres (a role that may create databases)',
    );
  }
  return url;
}

/**
 * A migrated PGlite folder shared by every test process of a run: creating a PGlite cluster costs seconds of
 * CPU, so it is made once per version of the schema and PGlite (named by their hash, in the system's temporary
 * folder), built aside and renamed into place, so processes starting together never see half of one.
 */
async function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const key = schemaKey(PGLITE_VERSION).slice(0, 16);
    const shared = path.join(tmpdir(), `c2f-pglite-template-${key}`);
    if (await stat(path.join(shared, 'data', 'PG_VERSION')).catch(() => undefined)) return path.join(shared, 'data');
    const building = await mkdtemp(path.join(tmpdir(), 'c2f-pglite-building-'));
    const db = await openPglite(path.join(building, 'data'));
    await migrate(db);
    // pg-boss's schema as well (its first start builds it, in seconds of CPU on PGlite); no queues, which each
    // bot creates with its own settings.
    const boss = new PgBoss({ db: fromPglite(db.pglite), backend: 'pglite', schema: 'pgboss' });
    await boss.start();
    await boss.stop({ graceful: false });
    await db.close();
    await rename(building, shared).catch(async () => rm(building, { recursive: true, force: true })); // another process was first
    return path.join(shared, 'data');
  })();
  return template;
}

/** A fresh data folder for PGlite (migrated), not opened. */
export async function freshPgliteFolder(): Promise<string> {
  const dir = path.join(await tempDir('c2f-pglite-'), 'data');
  // cp(1), not fs.cp: Node's copy of the 40 MB folder costs about a second of this process's CPU.
  const copied = await run('cp', ['-R', await pgliteTemplate(), dir]);
  if (copied.code !== 0) throw new Error(`could not copy the PGlite template: ${copied.stderr}`);
  return dir;
}

function postgresUrl(name: string): string {
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

let postgresTemplate: Promise<string> | undefined;

/**
 * A migrated PostgreSQL database, pg-boss's schema included, that fresh ones are copied from: made once per
 * version of the schema and pg-boss on the server (named by their hash), built under another name and renamed,
 * so processes starting together never copy half of one.
 */
async function postgresTemplateName(): Promise<string> {
  postgresTemplate ??= (async () => {
    const name = `c2f_template_${schemaKey().slice(0, 16)}`;
    const admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    try {
      if ((await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount) return name;
      const building = `c2f_building_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
      await admin.query(`create database ${building}`);
      const db = openPostgres(postgresUrl(building), 2);
      await migrate(db);
      await db.close();
      const boss = new PgBoss({ connectionString: postgresUrl(building), schema: 'pgboss', max: 1 });
      await boss.start();
      await boss.stop({ graceful: false });
      await admin.query(`alter database ${building} rename to ${name}`).catch(async (error: { code?: string }) => {
        if (error.code !== '42P04') throw error;
        await admin.query(`drop database ${building} with (force)`); // another process was first
      });
      return name;
    } finally {
      await admin.end();
    }
  })();
  return postgresTemplate;
}

/** A fresh PostgreSQL database, migrated with pg-boss's schema (or `empty`); returns its URL. */
export async function freshPostgresUrl(options: { empty?: boolean } = {}): Promise<string> {
  const template = options.empty ? '' : ` template ${await postgresTemplateName()}`;
  const name = `c2f_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`create database ${name}${template}`);
  } finally {
    await admin.end();
  }
  dropped.push(name);
  return postgresUrl(name);
}

/** A fresh, migrated database on the given engine (a copy of its template), closed when the file ends. */
export async function freshDatabase(engine: Engine): Promise<Database> {
  const db =
    engine === 'pglite' ? await openPglite(await freshPgliteFolder()) : openPostgres(await freshPostgresUrl(), 4);
  opened.push(db);
  return db;
}
