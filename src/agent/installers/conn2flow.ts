import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { Job } from '../../protocol/messages.ts';
import { AGENT_EXIT, PLG_EXIT, label } from '../../protocol/exit-codes.ts';
import { readZip } from '../../plugin/zip-reader.ts';
import { writeZip, type ZipEntry } from '../../plugin/zip-writer.ts';
import { parseInstallerOutput } from './installer-output.ts';
import { tail, type InstallRequest, type Installer, type InstallerResult, type SiteCheck } from './installer.ts';
import { runProcess } from './run-process.ts';
import { readSiteDatabase, SiteEnvError, type SiteDatabase } from './site-env.ts';

// Drives a real gestor install the way it actually works (reference §4, §6):
// 1. a `plugins` row pointing at the package (origem_tipo local_path), because admin-plugins.php only
//    installs what that table names;
// 2. `php gestor/modulos/admin-plugins/admin-plugins.php --action=install|update|reprocess --plugin=<id>`,
//    which always exits 0: the real result is `codigo_saida` in the JSON after its log lines;
// 3. a check that the site really has it: gestor/plugins/<id>/manifest.json at the version, and the row's
//    versao_instalada and checksum_pacote;
// 4. the plugin's db/data restored (the installer deletes it) and the data sync forced with
//    atualizacao-plugin-banco-de-dados.php --force-all, because the installer's global checksum gate can
//    skip it (trap 9) and swallows its failures (trap 10). Anything short of all this is an error, never "ok".

export interface Conn2FlowSettings {
  gestorDir: string;
  php: string;
  domain: string | null;
  timeoutSeconds: number;
}

const DATA_TABLES = ['layouts', 'paginas', 'componentes', 'variaveis', 'modulos'];

export class Conn2FlowInstaller implements Installer {
  readonly name = 'conn2flow';
  private readonly settings: Conn2FlowSettings;

  constructor(settings: Conn2FlowSettings) {
    this.settings = settings;
  }

  async install(request: InstallRequest): Promise<InstallerResult> {
    const { job, zip, sha256 } = request;
    const id = job.plugin.id;
    const log: string[] = [];
    let db: SiteDatabase;
    try {
      db = await readSiteDatabase(this.settings.gestorDir, this.settings.domain);
    } catch (error) {
      if (error instanceof SiteEnvError) return fail(PLG_EXIT.PARAMS_OR_FILE, error.message, log);
      throw error;
    }
    let action: 'install' | 'update' | 'reprocess';
    try {
      action = await this.preparePluginRow(db, job, zip);
    } catch (error) {
      return fail(AGENT_EXIT.INSTALLER_NOT_RUN, `cannot prepare the plugins row in ${db.database}@${db.host}: ${(error as Error).message}`, log);
    }
    // Conn2Flow checks /tmp/plg_<slug>.zip.sha256 when it exists, and keeps a stale one after a mismatch
    // (trap 14): write the right digest, so its own check passes and doubles ours.
    await writeFile(path.join(tmpdir(), `plg_${id}.zip.sha256`), `${sha256}\n`);

    const admin = await this.php([path.join(this.settings.gestorDir, 'modulos', 'admin-plugins', 'admin-plugins.php'), `--action=${action}`, `--plugin=${id}`]);
    log.push(`$ php admin-plugins.php --action=${action} --plugin=${id}`, ...tail(`${admin.stdout}\n${admin.stderr}`, 30));
    if (admin.failure) return fail(admin.failure.code, admin.failure.message, log);
    const result = parseInstallerOutput(admin.stdout);
    if (!result) return fail(AGENT_EXIT.INSTALLER_CRASHED, `admin-plugins.php printed no JSON result (exit ${admin.code}): a PHP fatal error?`, log);
    const code = typeof result.codigo_saida === 'number' ? result.codigo_saida : result.status === 'ok' ? 0 : AGENT_EXIT.INSTALLER_CRASHED;
    const said = result.mensagem ?? result.msg ?? '';
    if (code !== 0 || result.status !== 'ok') return fail(code || AGENT_EXIT.INSTALLER_CRASHED, `the installer failed with ${code} (${label(code)})${said ? `: ${said}` : ''}`, log);

    // Checked before the data sync, which writes into the plugin's folder and must not create it.
    const check = await this.check(id, job.plugin.version, sha256);
    if (!check.ok) return fail(AGENT_EXIT.VERIFY_FAILED, `the installer said "${said || 'ok'}" but ${check.reason}`, log);

    const sync = await this.forceDataSync(job, zip);
    log.push(...sync.log);
    if (sync.failure) return fail(AGENT_EXIT.VERIFY_FAILED, sync.failure, log);
    return { exitCode: PLG_EXIT.OK, message: `${id} ${job.plugin.version} installed (${action}); files, plugins row and data sync checked`, logTail: log.slice(-50), installedVersion: job.plugin.version };
  }

  async check(pluginId: string, version: string, sha256: string): Promise<SiteCheck> {
    const manifestFile = path.join(this.settings.gestorDir, 'plugins', pluginId, 'manifest.json');
    let manifest: { version?: unknown };
    try {
      manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    } catch (error) {
      return { ok: false, reason: `${manifestFile} is missing or unreadable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
    }
    if (manifest.version !== version) return { ok: false, reason: `${manifestFile} has version ${String(manifest.version)}, not ${version}` };
    const rows = await this.query<{ versao_instalada: string | null; checksum_pacote: string | null }>('select versao_instalada, checksum_pacote from plugins where id = ? order by id_plugins desc', [pluginId]);
    if (!rows.length) return { ok: false, reason: `the plugins table has no row for ${pluginId}` };
    const [row] = rows;
    if (row.versao_instalada !== version) return { ok: false, reason: `the plugins row says versao_instalada ${JSON.stringify(row.versao_instalada)}, not ${version}` };
    if (row.checksum_pacote !== sha256) return { ok: false, reason: `the plugins row says checksum_pacote ${JSON.stringify(row.checksum_pacote)}, not the package's ${sha256}` };
    return { ok: true, reason: 'files and plugins row match' };
  }

  async inventory(): Promise<Array<{ pluginId: string; version: string | null; sha256: string | null }>> {
    const rows = await this.query<{ id: string; versao_instalada: string | null; checksum_pacote: string | null }>("select id, versao_instalada, checksum_pacote from plugins where status <> 'D' or status is null order by id");
    return rows
      .filter((r) => /^[a-z0-9][a-z0-9_-]*$/.test(r.id))
      .map((r) => ({ pluginId: r.id, version: /^\d+\.\d+\.\d+$/.test(r.versao_instalada ?? '') ? r.versao_instalada : null, sha256: /^[0-9a-f]{64}$/.test(r.checksum_pacote ?? '') ? r.checksum_pacote : null }));
  }

  async uninstall(job: Job, backupFile: string): Promise<InstallerResult> {
    const id = job.plugin.id;
    const folder = path.join(this.settings.gestorDir, 'plugins', id);
    const log: string[] = [];
    if ((await stat(folder).catch(() => undefined))?.isDirectory()) {
      await mkdir(path.dirname(backupFile), { recursive: true });
      await writeZip(backupFile, await folderEntries(folder));
      await rm(folder, { recursive: true, force: true });
      log.push(`removed ${folder} (a copy of its files is in ${backupFile})`);
    } else {
      log.push(`${folder} did not exist`);
    }
    const remaining: string[] = [];
    for (const table of DATA_TABLES) {
      const count = await this.query<{ n: number }>(`select count(*) as n from \`${table}\` where plugin = ?`, [id]).then((r) => Number(r[0]?.n ?? 0), () => 0);
      if (count) remaining.push(`${count} ${table}`);
    }
    await this.query("update plugins set status = 'D', status_execucao = 'idle' where id = ?", [id]).catch((error) => log.push(`could not mark the plugins row deleted: ${(error as Error).message}`));
    const leftovers = `Conn2Flow cannot undo the rest: ${remaining.length ? `data rows (${remaining.join(', ')})` : 'no data rows found'}, the plugin's migrations (phinxlog and the tables they created) and its plugins row (marked deleted, status 'D')`;
    return { exitCode: PLG_EXIT.OK, message: `${id} files removed. ${leftovers}`, logTail: log, installedVersion: null };
  }

  /** Creates or repoints the plugins row; returns the admin action that fits. */
  private async preparePluginRow(db: SiteDatabase, job: Job, zip: string): Promise<'install' | 'update' | 'reprocess'> {
    const connection = await connect(db);
    try {
      const [rows] = await connection.query('select id_plugins from plugins where id = ? order by id_plugins desc', [job.plugin.id]);
      const existing = (rows as Array<{ id_plugins: number }>)[0];
      if (!existing) {
        await connection.query("insert into plugins (id, nome, origem_tipo, origem_referencia, status) values (?, ?, 'local_path', ?, 'A')", [job.plugin.id, job.plugin.name, zip]);
        return 'install';
      }
      await connection.query("update plugins set origem_tipo = 'local_path', origem_referencia = ?, status = 'A' where id_plugins = ?", [zip, existing.id_plugins]);
      const present = (await stat(path.join(this.settings.gestorDir, 'plugins', job.plugin.id)).catch(() => undefined))?.isDirectory();
      if (!present) return 'install';
      // A reinstall of the same package, or any forced job, must not stop at the "checksum unchanged" gate.
      return job.options.force || job.action === 'rollback' ? 'reprocess' : 'update';
    } finally {
      await connection.end();
    }
  }

  private async forceDataSync(job: Job, zip: string): Promise<{ log: string[]; failure?: string }> {
    const id = job.plugin.id;
    const data = await readZip(zip, (name) => /^db\/data\/[^/]+Data\.json$/.test(name));
    if (!data.contents.size) return { log: ['no db/data files: nothing to sync'] };
    const dataDir = path.join(this.settings.gestorDir, 'plugins', id, 'db', 'data');
    await mkdir(dataDir, { recursive: true });
    for (const [name, content] of data.contents) await writeFile(path.join(dataDir, path.basename(name)), content);
    const args = [path.join(this.settings.gestorDir, 'controladores', 'plugins', 'atualizacao-plugin-banco-de-dados.php'), `--plugin=${id}`, '--force-all'];
    if (job.options.skipMigrations) args.push('--skip-migrate');
    const sync = await this.php(args);
    await rm(path.join(this.settings.gestorDir, 'plugins', id, 'db'), { recursive: true, force: true });
    const log = [`$ php atualizacao-plugin-banco-de-dados.php --plugin=${id} --force-all`, ...tail(`${sync.stdout}\n${sync.stderr}`, 15)];
    if (sync.failure) return { log, failure: `data sync: ${sync.failure.message}` };
    if (sync.code !== 0) return { log, failure: `the forced data sync failed (exit ${sync.code}): the plugin's rows may be missing or stale` };
    return { log };
  }

  private async php(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; failure?: { code: number; message: string } }> {
    const result = await runProcess(this.settings.php, args, { cwd: path.dirname(this.settings.gestorDir), timeoutMs: this.settings.timeoutSeconds * 1000 });
    const script = path.basename(args[0]);
    if (result.spawnError) return { ...result, failure: { code: AGENT_EXIT.INSTALLER_NOT_RUN, message: `cannot run ${this.settings.php}: ${result.spawnError}` } };
    if (result.timedOut) return { ...result, failure: { code: AGENT_EXIT.INSTALLER_TIMEOUT, message: `${script} ran longer than ${this.settings.timeoutSeconds} s and was stopped` } };
    if (result.code === null) return { ...result, failure: { code: AGENT_EXIT.INSTALLER_CRASHED, message: `${script} was killed by ${result.signal}` } };
    if (result.code === 255) return { ...result, failure: { code: AGENT_EXIT.INSTALLER_CRASHED, message: `${script} died with a PHP fatal error (exit 255)` } };
    return result;
  }

  private async query<T>(sql: string, values: unknown[] = []): Promise<T[]> {
    const connection = await connect(await readSiteDatabase(this.settings.gestorDir, this.settings.domain));
    try {
      const [rows] = await connection.query(sql, values);
      return rows as T[];
    } finally {
      await connection.end();
    }
  }
}

function connect(db: SiteDatabase) {
  return mysql.createConnection({ host: db.host, port: 3306, user: db.user, password: db.password, database: db.database, connectTimeout: 10_000, charset: 'utf8mb4' });
}

function fail(exitCode: number, message: string, log: string[]): InstallerResult {
  return { exitCode, message, logTail: log.slice(-50), installedVersion: null };
}

/** Every file and folder under a folder, as zip entries (a backup keeps everything, nothing excluded). */
async function folderEntries(folder: string): Promise<ZipEntry[]> {
  const entries: ZipEntry[] = [];
  for (const dirent of await readdir(folder, { withFileTypes: true, recursive: true })) {
    const absolute = path.join(dirent.parentPath, dirent.name);
    const name = path.relative(folder, absolute).split(path.sep).join('/');
    if (dirent.isDirectory()) entries.push({ name: `${name}/` });
    else if (dirent.isFile()) entries.push({ name, source: absolute, size: (await stat(absolute)).size });
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : 1));
}
