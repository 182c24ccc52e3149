import assert from 'node:assert/strict';
import { cp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import { Agent } from '../../src/agent/agent.ts';
import { completeConfig } from '../../src/agent/config.ts';
import { pack } from '../../src/plugin/pack.ts';
import { FIXTURES, copyPlugin, tempDir, waitFor } from '../helpers.ts';
import { FakeBot } from './fake-bot.ts';

// The conn2flow installer against a stand-in gestor tree whose PHP scripts behave as the reference says
// (exit 0 always, JSON after log lines, silent failures, the checksum gate, db/ deleted after install) and a
// real MariaDB holding the site's plugins table. The agent must report the truth, not what the script says.

const MARIADB = process.env.TEST_MARIADB_URL;
if (!MARIADB) throw new Error('TEST_MARIADB_URL is not set: these tests need a MariaDB (".ci/run" installs and starts one)');
const DATABASE = `c2f_site_${process.pid}`;
const bot = new FakeBot();
let admin: mysql.Connection;
let gestor: string;
let agent: Agent;
let agentUrl: string;
const packages: Record<string, { zip: string; sha256: string }> = {};

before(async () => {
  await bot.start();
  admin = await mysql.createConnection(`${MARIADB}/?multipleStatements=true`);
  await admin.query(`drop database if exists ${DATABASE}; create database ${DATABASE}; use ${DATABASE};
    create table plugins (
      id_plugins int auto_increment primary key, id_usuarios int default 1, nome varchar(255), id varchar(255), status char(1), versao int,
      data_criacao datetime default current_timestamp, data_modificacao datetime default current_timestamp on update current_timestamp,
      origem_tipo varchar(50), origem_referencia varchar(255), origem_branch_tag varchar(255), origem_credencial_ref varchar(255),
      versao_instalada varchar(50), checksum_pacote varchar(128), manifest_json text, status_execucao varchar(30) not null default 'idle',
      data_instalacao datetime, data_ultima_atualizacao datetime, key (id));
    create table layouts (id_layouts int auto_increment primary key, id varchar(255), plugin varchar(255));
    create table standin_sync (plugin varchar(255), file varchar(255), rows_synced int, forced tinyint);`);
  const site = await tempDir('c2f-site-');
  await cp(path.join(FIXTURES, 'gestor-standin'), site, { recursive: true });
  gestor = path.join(site, 'gestor');
  const { username, password } = new URL(MARIADB);
  await writeFile(path.join(await mkdirp(path.join(gestor, 'autenticacoes', 'localhost')), '.env'), `DB_CONNECTION=mysqli\nDB_HOST=127.0.0.1\nDB_DATABASE=${DATABASE}\nDB_USERNAME=${username}\nDB_PASSWORD="${password}"\nDB_PORT=9999\n`);
  for (const version of ['1.2.3', '1.3.0']) {
    const dir = await copyPlugin('full-plugin');
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, version }, null, 4));
    const summary = await pack(dir, { outDir: await tempDir() });
    packages[version] = { zip: summary.zip.path, sha256: summary.zip.sha256 };
  }
  const dataDir = await tempDir('c2f-agent-');
  agent = new Agent(completeConfig({
    hostId: bot.hostId, secret: bot.secret, botUrl: bot.url, listen: { port: 0 }, heartbeatSeconds: 3600, allowHttpDownloads: true,
    installer: { type: 'conn2flow', gestorDir: gestor, timeoutSeconds: 20 },
  }, path.join(dataDir, 'c2f-agent.json')), { log: () => {} });
  agentUrl = (await agent.start()).url!;
});

after(async () => {
  await agent?.stop();
  await admin?.query(`drop database if exists ${DATABASE}`);
  await admin?.end();
  await bot.stop();
});

async function mkdirp(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

async function mode(name: string) {
  await writeFile(path.join(gestor, 'standin-mode'), name);
}

async function pluginRow() {
  const [rows] = await admin.query(`select * from ${DATABASE}.plugins where id = 'full-plugin'`);
  return (rows as Array<Record<string, any>>)[0];
}

async function finalReport(version: string, fields: Parameters<FakeBot['jobFor']>[1] = {}) {
  const job = await bot.jobFor(packages[version].zip, { pluginId: 'full-plugin', version, ...fields });
  assert.equal((await bot.push(agentUrl, job)).status, 202);
  await agent.idle();
  return await waitFor(() => bot.reportsFor(job.jobId).find((r) => r.status === 'ok' || r.status === 'erro'), 'the final report');
}

test('a silent failure (status ok, codigo_saida 0, nothing installed) is reported as VERIFY_FAILED', async () => {
  await mode('silent');
  const report = await finalReport('1.2.3');
  assert.equal(report.status, 'erro');
  assert.deepEqual([report.exitCode, report.exitLabel], [43, 'VERIFY_FAILED']);
  assert.match(report.message, /manifest\.json is missing/);
  // The row the agent created for the installer is there, pointing at the kept package.
  const row = await pluginRow();
  assert.equal(row.origem_tipo, 'local_path');
  assert.match(row.origem_referencia, /backups\/full-plugin\/1\.2\.3\.zip$/);
});

test('install: a plugins row, the admin CLI, the forced data sync, then the site is checked', async () => {
  await mode('normal');
  // A stale digest left by an earlier failed install (trap 14) must not break this one.
  await writeFile(path.join(tmpdir(), 'plg_full-plugin.zip.sha256'), `${'0'.repeat(64)}\n`);
  const report = await finalReport('1.2.3');
  assert.equal(report.status, 'ok', report.message);
  assert.equal(report.installedVersion, '1.2.3');
  assert.ok(report.logTail.some((l) => l.includes('--action=install')), report.logTail.join('\n'));
  assert.ok(report.logTail.some((l) => l.includes('[INFO] [PLUGIN:full-plugin]')));
  const manifest = JSON.parse(await readFile(path.join(gestor, 'plugins', 'full-plugin', 'manifest.json'), 'utf8'));
  assert.equal(manifest.version, '1.2.3');
  const row = await pluginRow();
  assert.deepEqual([row.versao_instalada, row.checksum_pacote, row.versao, row.status_execucao], ['1.2.3', packages['1.2.3'].sha256, 123, 'ok']);
  const [synced] = await admin.query(`select file, forced from ${DATABASE}.standin_sync where plugin = 'full-plugin'`);
  assert.ok((synced as unknown[]).length >= 4, 'the data sync ran over every Data.json');
  assert.ok((synced as Array<{ forced: number }>).every((s) => s.forced === 1));
  // The installer's final state is restored: no db/ left in the plugin folder.
  assert.equal(await stat(path.join(gestor, 'plugins', 'full-plugin', 'db')).catch(() => null), null);
  assert.deepEqual(await agent.inventory(), [{ pluginId: 'full-plugin', version: '1.2.3', sha256: packages['1.2.3'].sha256 }]);
});

test('update to a new version; the row and files follow', async () => {
  await mode('normal');
  const report = await finalReport('1.3.0', { action: 'update' });
  assert.equal(report.status, 'ok', report.message);
  assert.ok(report.logTail.some((l) => l.includes('--action=update')));
  assert.equal((await pluginRow()).versao_instalada, '1.3.0');
});

test('a rollback goes past the "checksum unchanged" shortcut (reprocess) and is verified', async () => {
  await mode('normal');
  const report = await finalReport('1.2.3', { action: 'rollback' });
  assert.equal(report.status, 'ok', report.message);
  assert.ok(report.logTail.some((l) => l.includes('--action=reprocess')));
  assert.equal((await pluginRow()).versao_instalada, '1.2.3');
});

test('a row the installer never updated is VERIFY_FAILED, not ok', async () => {
  await mode('no-row-update');
  const report = await finalReport('1.3.0', { action: 'update' });
  assert.deepEqual([report.status, report.exitCode], ['erro', 43]);
  assert.match(report.message, /versao_instalada "1\.2\.3", not 1\.3\.0/);
});

test('codigo_saida from the JSON is the exit code, although the process exited 0', async () => {
  await mode('code-11');
  const report = await finalReport('1.3.0', { action: 'update', force: true });
  assert.deepEqual([report.status, report.exitCode, report.exitLabel], ['erro', 11, 'VALIDATE']);
  assert.match(report.message, /Manifesto inválido/);
});

test('a PHP fatal error (exit 255, no JSON) is INSTALLER_CRASHED', async () => {
  await mode('fatal');
  const report = await finalReport('1.3.0', { action: 'update', force: true });
  assert.deepEqual([report.exitCode, report.exitLabel], [41, 'INSTALLER_CRASHED']);
  assert.ok(report.logTail.some((l) => l.includes('PHP Fatal error')));
});

test('a failing forced data sync is VERIFY_FAILED with its output', async () => {
  await mode('sync-fails');
  const report = await finalReport('1.3.0', { action: 'update', force: true });
  assert.deepEqual([report.exitCode, report.exitLabel], [43, 'VERIFY_FAILED']);
  assert.match(report.message, /data sync failed/);
  assert.ok(report.logTail.some((l) => l.includes('Incorrect integer value')));
});

test('uninstall keeps a copy of the folder, removes it and says what Conn2Flow cannot undo', async () => {
  await mode('normal');
  await admin.query(`insert into ${DATABASE}.layouts (id, plugin) values ('a', 'full-plugin'), ('b', 'full-plugin'), ('c', 'other')`);
  const report = await finalReport('1.3.0', { action: 'uninstall' });
  assert.equal(report.status, 'ok', report.message);
  assert.match(report.message, /2 layouts/);
  assert.match(report.message, /migrations/);
  assert.equal(await stat(path.join(gestor, 'plugins', 'full-plugin')).catch(() => null), null);
  assert.equal((await pluginRow()).status, 'D');
  const backups = await readdir(path.join(agent.config.dataDir, 'backups', 'full-plugin'));
  assert.ok(backups.some((name) => name.startsWith('uninstalled-')), backups.join(', '));
  assert.deepEqual(await agent.inventory(), []);
});
