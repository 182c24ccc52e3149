import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after } from 'node:test';
import mysql from 'mysql2/promise';
import { pack } from '../../src/plugin/pack.ts';
import { FIXTURES, copyPlugin, tempDir } from '../helpers.ts';

// A Conn2Flow site for tests: a copy of the stand-in gestor tree (PHP scripts that behave as Conn2Flow's do,
// failures included) and its own MariaDB database with the tables the installer and the agent touch.
// TEST_MARIADB_URL names a server and a user that may create databases (".ci/run" starts one).

export const MARIADB = process.env.TEST_MARIADB_URL;
if (!MARIADB)
  throw new Error('TEST_MARIADB_URL is not set: these tests need a MariaDB (".ci/run" installs and starts one)');

let admin: mysql.Connection | undefined;
const databases: string[] = [];
after(async () => {
  for (const name of databases) await admin?.query(`drop database if exists ${name}`);
  await admin?.end();
});

async function adminConnection(): Promise<mysql.Connection> {
  admin ??= await mysql.createConnection(`${MARIADB}/?multipleStatements=true`);
  return admin;
}

export interface StandInSite {
  gestor: string;
  database: string;
  /** The behaviour the stand-in scripts imitate next (see gestor/bibliotecas/standin.php). */
  mode(name: string): Promise<void>;
  row(pluginId: string): Promise<Record<string, any> | undefined>;
  query<T = Record<string, any>>(sql: string, values?: unknown[]): Promise<T[]>;
  filesVersion(pluginId: string): Promise<string | null>;
}

/**
 * A site whose .env connects as PHP would: DB_HOST 127.0.0.1 with the test user by default, or "localhost"
 * (the Unix socket) with a user granted for localhost only.
 */
export async function createStandInSite(
  options: { dbHost?: string; user?: string; password?: string } = {},
): Promise<StandInSite> {
  const connection = await adminConnection();
  const database = `c2f_site_${process.pid}_${databases.length}`;
  databases.push(database);
  await connection.query(`drop database if exists ${database}; create database ${database}; use ${database};
    create table plugins (
      id_plugins int auto_increment primary key, id_usuarios int default 1, nome varchar(255), id varchar(255), status char(1), versao int,
      data_criacao datetime default current_timestamp, data_modificacao datetime default current_timestamp on update current_timestamp,
      origem_tipo varchar(50), origem_referencia varchar(255), origem_branch_tag varchar(255), origem_credencial_ref varchar(255),
      versao_instalada varchar(50), checksum_pacote varchar(128), manifest_json text, status_execucao varchar(30) not null default 'idle',
      data_instalacao datetime, data_ultima_atualizacao datetime, key (id));
    create table layouts (id_layouts int auto_increment primary key, id varchar(255), plugin varchar(255));
    create table modulos (id_modulos int auto_increment primary key, id varchar(255), plugin varchar(255), nome varchar(255), language varchar(10));
    create table standin_sync (plugin varchar(255), file varchar(255), rows_synced int, forced tinyint);
    create table phinxlog (version bigint primary key, migration_name varchar(100), start_time timestamp null, end_time timestamp null, breakpoint tinyint not null default 0);`);
  const site = await tempDir('c2f-site-');
  await cp(path.join(FIXTURES, 'gestor-standin'), site, { recursive: true });
  const gestor = path.join(site, 'gestor');
  const url = new URL(MARIADB!);
  const user = options.user ?? decodeURIComponent(url.username);
  const password = options.password ?? decodeURIComponent(url.password);
  await mkdir(path.join(gestor, 'autenticacoes', 'localhost'), { recursive: true });
  await writeFile(
    path.join(gestor, 'autenticacoes', 'localhost', '.env'),
    `DB_CONNECTION=mysqli\nDB_HOST=${options.dbHost ?? url.hostname}\nDB_DATABASE=${database}\nDB_USERNAME=${user}\nDB_PASSWORD="${password}"\nDB_PORT=9999\n`,
  );
  const query = async <T>(sql: string, values: unknown[] = []) =>
    (await connection.query(sql.replaceAll('{db}', database), values))[0] as T[];
  return {
    gestor,
    database,
    mode: (name) => writeFile(path.join(gestor, 'standin-mode'), name),
    row: async (pluginId) =>
      (
        await query<Record<string, any>>('select * from {db}.plugins where id = ? order by id_plugins desc', [pluginId])
      )[0],
    query,
    filesVersion: async (pluginId) => {
      try {
        return JSON.parse(await readFile(path.join(gestor, 'plugins', pluginId, 'manifest.json'), 'utf8')).version;
      } catch {
        return null;
      }
    },
  };
}

/**
 * Real packages of the full-plugin fixture under another id and versions, packed once; `files` adds files
 * to a version (db/migrations, post-install scripts), `manifest` fields to its manifest.
 */
export async function pluginPackages(
  pluginId: string,
  versions: readonly string[],
  extra: Record<string, { files?: Record<string, string>; manifest?: Record<string, unknown> }> = {},
): Promise<Record<string, { zip: string; sha256: string }>> {
  const packages: Record<string, { zip: string; sha256: string }> = {};
  for (const version of versions) {
    const dir = await copyPlugin('full-plugin');
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    await writeFile(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ ...manifest, id: pluginId, version, ...extra[version]?.manifest }, null, 4),
    );
    for (const [file, content] of Object.entries(extra[version]?.files ?? {})) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), content);
    }
    const summary = await pack(dir, { outDir: await tempDir() });
    packages[version] = { zip: summary.zip.path, sha256: summary.zip.sha256 };
  }
  return packages;
}
