import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { InventoryEntry, Job } from '../../protocol/messages.ts';
import { AGENT_EXIT, PLG_EXIT, label } from '../../protocol/exit-codes.ts';
import { readZip } from '../../plugin/zip-reader.ts';
import { writeZip, type ZipEntry } from '../../plugin/zip-writer.ts';
import { isPluginId } from '../../plugin/plugin-id.ts';
import type { SitePlugin } from '../inventory.ts';
import { parseInstallerOutput } from './installer-output.ts';
import {
  tail,
  type InstallRequest,
  type Installer,
  type InstallerResult,
  type ScriptRun,
  type SiteCheck,
} from './installer.ts';
import { runProcess } from './run-process.ts';
import { SiteDatabaseClient, SiteDatabaseError } from './site-database.ts';
import { SlugLockTimeout, withSlugLock } from './slug-lock.ts';

// Drives a real gestor install the way it actually works, and trusts none of what it says:
// 1. a `plugins` row pointing at the package (origem_tipo local_path), because admin-plugins.php only
//    installs what that table names; its checksum_pacote is cleared first, because Conn2Flow skips any
//    install, update or reprocess whose package checksum equals the row's ("checksum inalterado") and
//    answers success: a reinstall, a rollback or a retry after a failure would do nothing;
// 2. `php gestor/modulos/admin-plugins/admin-plugins.php --action=install|update --plugin=<id>`, which
//    always exits 0: the real result is `codigo_saida` in the JSON after its log lines;
// 3. a check that the site really has it: gestor/plugins/<id>/manifest.json at the version, and the row's
//    versao_instalada and checksum_pacote (the row alone is no evidence: Conn2Flow writes it even when it
//    could not replace the files);
// 4. the plugin's db/data restored (the installer deletes it) and the data sync forced with
//    atualizacao-plugin-banco-de-dados.php --force-all, because Conn2Flow's global data-file checksum gate
//    can skip it and its failures are swallowed. Anything short of all this is an error, never "ok".
// The JSON result's log is cut after about 1,000 characters, so the part of gestor/logs/plugins/
// installer.log this run wrote is added to the log tail: that is where "checksum inalterado" or the real
// error is.

export interface Conn2FlowSettings {
  gestorDir: string;
  php: string;
  domain: string | null;
  timeoutSeconds: number;
  dbSocket: string | null;
}

const DATA_TABLES = ['layouts', 'paginas', 'componentes', 'variaveis', 'modulos'];
/** The most of installer.log one run may add to a report (the report keeps its last lines). */
const INSTALLER_LOG_BYTES = 64 * 1024;

export class Conn2FlowInstaller implements Installer {
  readonly name = 'conn2flow';
  private readonly settings: Conn2FlowSettings;
  private readonly db: SiteDatabaseClient;

  constructor(settings: Conn2FlowSettings) {
    this.settings = settings;
    this.db = new SiteDatabaseClient(settings);
  }

  async install(request: InstallRequest): Promise<InstallerResult> {
    const { job, zip, sha256 } = request;
    const id = job.plugin.id;
    const log: string[] = [];
    let action: 'install' | 'update';
    try {
      const collision = await this.moduleCollision(id, zip);
      if (collision) return fail(PLG_EXIT.VALIDATE, collision, log);
      action = await this.preparePluginRow(job, zip);
    } catch (error) {
      if (error instanceof SiteDatabaseError) return fail(PLG_EXIT.PARAMS_OR_FILE, error.message, log);
      return fail(AGENT_EXIT.INSTALLER_NOT_RUN, `cannot prepare the plugins row: ${(error as Error).message}`, log);
    }
    // Conn2Flow copies the package to /tmp/plg_<slug>.zip and checks /tmp/plg_<slug>.zip.sha256 when it exists
    // (keeping a stale one after a mismatch): fixed names, so one install of a plugin at a time on this machine,
    // and the right digest written there, so its own check passes and doubles ours.
    try {
      return await withSlugLock(id, this.settings.timeoutSeconds * 1000, async () => {
        await writeFile(path.join(tmpdir(), `plg_${id}.zip.sha256`), `${sha256}\n`);
        const installerLog = await this.installerLogSize();
        const before = await this.snapshot(id);
        const result = await this.runAdmin(job, action, zip, sha256, log, installerLog, request.onProcess);
        // A failure may or may not have touched the site: it did if the plugin's files or its row's version moved.
        if (result.exitCode !== PLG_EXIT.OK)
          result.siteChanged = await this.snapshot(id).then(
            (after) => after !== before,
            () => true,
          );
        return result;
      });
    } catch (error) {
      if (error instanceof SlugLockTimeout) return fail(AGENT_EXIT.INSTALLER_TIMEOUT, error.message, log);
      throw error;
    }
  }

  private async runAdmin(
    job: Job,
    action: 'install' | 'update',
    zip: string,
    sha256: string,
    log: string[],
    installerLog: number,
    onProcess?: (pgid: number) => void,
  ): Promise<InstallerResult> {
    const id = job.plugin.id;
    const migrations = job.options.skipMigrations ? [] : await packageMigrations(zip);
    const tablesBefore = migrations.length ? await this.tables() : [];
    const admin = await this.php(
      [
        path.join(this.settings.gestorDir, 'modulos', 'admin-plugins', 'admin-plugins.php'),
        `--action=${action}`,
        `--plugin=${id}`,
      ],
      onProcess,
    );
    log.push(
      `$ php admin-plugins.php --action=${action} --plugin=${id}`,
      ...tail(`${admin.stdout}\n${admin.stderr}`, 15),
      ...(await this.installerLogSince(installerLog, id)),
    );
    if (admin.failure) return fail(admin.failure.code, admin.failure.message, log);
    const result = parseInstallerOutput(admin.stdout);
    if (!result)
      return fail(
        AGENT_EXIT.INSTALLER_CRASHED,
        `admin-plugins.php printed no JSON result (exit ${admin.code}): a PHP fatal error?`,
        log,
      );
    const statusCode = result.status === 'ok' ? 0 : AGENT_EXIT.INSTALLER_CRASHED;
    const code = typeof result.codigo_saida === 'number' ? result.codigo_saida : statusCode;
    const said = result.mensagem ?? result.msg ?? '';
    if (code !== 0 || result.status !== 'ok')
      return fail(
        code || AGENT_EXIT.INSTALLER_CRASHED,
        `the installer failed with ${code} (${label(code)})${said ? `: ${said}` : ''}`,
        log,
      );

    // Checked before the data sync, which writes into the plugin's folder and must not create it.
    const check = await this.check(id, job.plugin.version, sha256);
    if (!check.ok)
      return fail(AGENT_EXIT.VERIFY_FAILED, `the installer said "${said || 'ok'}" but ${check.reason}`, log);
    const migrationProblem = await this.migrationProblem(migrations, tablesBefore, log);
    if (migrationProblem) return fail(AGENT_EXIT.MIGRATION_FAILED, migrationProblem, log);

    const sync = await this.forceDataSync(job, zip, onProcess);
    log.push(...sync.log);
    if (sync.failure) return fail(AGENT_EXIT.VERIFY_FAILED, sync.failure, log);
    // Conn2Flow's extraction keeps the zip's file times, and a reproducible package has one fixed time: PHP's
    // opcache, which notices a changed file by its time, would keep running the previous version's code.
    const touched = await touchFiles(path.join(this.settings.gestorDir, 'plugins', id));
    log.push(`-- ${touched} file time(s) set to now, so PHP's opcache sees the new files`);
    return {
      exitCode: PLG_EXIT.OK,
      message: `${id} ${job.plugin.version} installed (${action}); files, plugins row and data sync checked`,
      logTail: log.slice(-50),
      installedVersion: job.plugin.version,
      siteChanged: true,
    };
  }

  /**
   * Conn2Flow runs the package's migrations and swallows any failure (a log line, then "ok"): every
   * db/migrations/<version>_*.php must have its phinxlog row. Why not, with Conn2Flow's own message and the
   * tables the failed migration created (MySQL DDL is not undone); undefined when all ran.
   */
  private async migrationProblem(
    migrations: readonly Migration[],
    tablesBefore: readonly string[],
    log: readonly string[],
  ): Promise<string | undefined> {
    if (!migrations.length) return undefined;
    let applied: Set<number>;
    try {
      const rows = await this.db.query<{ version: number | string }>(
        'select version from phinxlog where version in (?)',
        [migrations.map((m) => m.version)],
      );
      applied = new Set(rows.map((r) => Number(r.version)));
    } catch (error) {
      if ((error as { code?: string }).code !== 'ER_NO_SUCH_TABLE') throw error;
      applied = new Set();
    }
    const missing = migrations.filter((m) => !applied.has(m.version));
    if (!missing.length) return undefined;
    const said = log.map((line) => /migrações plugin falharam: (.*)$/.exec(line)?.[1]).findLast(Boolean);
    const created = (await this.tables()).filter((table) => !tablesBefore.includes(table));
    return [
      `migration ${missing[0].file} did not run (phinxlog has no row for ${missing[0].version})`,
      said
        ? `: Conn2Flow said "${said}"`
        : ': Conn2Flow said nothing of it (it logs a failed migration and answers success)',
      missing.length > 1 ? `; ${missing.length - 1} later migration(s) did not run either` : '',
      created.length
        ? `; the failed run left table(s) ${created.join(', ')} (MySQL does not undo DDL: drop them, or fix the migration so it can run again)`
        : '; it left no new table',
    ].join('');
  }

  private async tables(): Promise<string[]> {
    const rows = await this.db.query<{ name: string }>(
      'select table_name as name from information_schema.tables where table_schema = database()',
    );
    return rows.map((r) => r.name);
  }

  /** The plugin's files (names, sizes, times) and its row's version: what a failed run may have changed. */
  private async snapshot(pluginId: string): Promise<string> {
    const folder = path.join(this.settings.gestorDir, 'plugins', pluginId);
    const hash = createHash('sha256');
    const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch(() => []);
    for (const dirent of entries.sort((a, b) =>
      path.join(a.parentPath, a.name) < path.join(b.parentPath, b.name) ? -1 : 1,
    )) {
      const file = path.join(dirent.parentPath, dirent.name);
      const info = await stat(file).catch(() => undefined);
      hash.update(`${path.relative(folder, file)}\0${info?.size ?? '-'}\0${info?.mtimeMs ?? '-'}\n`);
    }
    const rows = await this.db.query<{ versao_instalada: string | null }>(
      'select versao_instalada from plugins where id = ? order by id_plugins desc limit 1',
      [pluginId],
    );
    hash.update(`row\0${rows[0]?.versao_instalada ?? '-'}`);
    return hash.digest('hex');
  }

  async check(pluginId: string, version: string, sha256: string): Promise<SiteCheck> {
    const files = await this.filesVersion(pluginId);
    const manifestFile = path.join(this.settings.gestorDir, 'plugins', pluginId, 'manifest.json');
    if (files === null) return { ok: false, reason: `${manifestFile} is missing or unreadable` };
    if (files !== version) return { ok: false, reason: `${manifestFile} has version ${files}, not ${version}` };
    const rows = await this.db.query<{ versao_instalada: string | null; checksum_pacote: string | null }>(
      'select versao_instalada, checksum_pacote from plugins where id = ? order by id_plugins desc',
      [pluginId],
    );
    if (!rows.length) return { ok: false, reason: `the plugins table has no row for ${pluginId}` };
    const [row] = rows;
    if (row.versao_instalada !== version)
      return {
        ok: false,
        reason: `the plugins row says versao_instalada ${JSON.stringify(row.versao_instalada)}, not ${version}`,
      };
    if (row.checksum_pacote !== sha256)
      return {
        ok: false,
        reason: `the plugins row says checksum_pacote ${JSON.stringify(row.checksum_pacote)}, not the package's ${sha256}`,
      };
    return { ok: true, reason: 'files and plugins row match' };
  }

  /** Every plugin the site has files or a (not deleted) row for. */
  async siteInventory(): Promise<SitePlugin[]> {
    const rows = await this.db.query<{
      id: string;
      versao_instalada: string | null;
      checksum_pacote: string | null;
      status: string | null;
    }>(
      "select id, versao_instalada, checksum_pacote, status from plugins where status <> 'D' or status is null order by id_plugins",
    );
    const folders = (
      await readdir(path.join(this.settings.gestorDir, 'plugins'), { withFileTypes: true }).catch(() => [])
    )
      .filter((d) => d.isDirectory() && isPluginId(d.name))
      .map((d) => d.name);
    const ids = [...new Set([...rows.map((r) => r.id), ...folders])].filter((id) => isPluginId(id)).sort();
    return Promise.all(
      ids.map(async (pluginId) => {
        const row = rows.filter((r) => r.id === pluginId).at(-1);
        return {
          pluginId,
          filesVersion: await this.filesVersion(pluginId),
          row: row
            ? {
                version: validVersion(row.versao_instalada),
                sha256: /^[0-9a-f]{64}$/.test(row.checksum_pacote ?? '') ? row.checksum_pacote : null,
                status: row.status,
              }
            : null,
        };
      }),
    );
  }

  /**
   * After a failed job: Conn2Flow's admin shows `erro` (its installer never says so itself), and the row
   * claims what the files hold, with the package checksum only when it is known to be theirs, so the next
   * install of any package is not skipped as "checksum unchanged".
   */
  async markFailed(pluginId: string, site: InventoryEntry): Promise<void> {
    await this.db.query(
      "update plugins set status_execucao = 'erro', versao_instalada = ?, checksum_pacote = ? where id = ? and (status <> 'D' or status is null)",
      [site.version, site.version ? site.sha256 : null, pluginId],
    );
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
      const count = await this.db
        .query<{ n: number }>(`select count(*) as n from \`${table}\` where plugin = ?`, [id])
        .then(
          (r) => Number(r[0]?.n ?? 0),
          () => 0,
        );
      if (count) remaining.push(`${count} ${table}`);
    }
    // The package checksum goes too: installing the same package again later must not be skipped.
    await this.db
      .query(
        "update plugins set status = 'D', status_execucao = 'idle', checksum_pacote = null, versao_instalada = null where id = ?",
        [id],
      )
      .catch((error) => log.push(`could not mark the plugins row deleted: ${(error as Error).message}`));
    const leftovers = `Conn2Flow cannot undo the rest: ${remaining.length ? `data rows (${remaining.join(', ')})` : 'no data rows found'}, the plugin's migrations (phinxlog and the tables they created) and its plugins row (marked deleted, status 'D')`;
    return {
      exitCode: PLG_EXIT.OK,
      message: `${id} files removed. ${leftovers}`,
      logTail: log,
      installedVersion: null,
      siteChanged: true,
    };
  }

  /**
   * Module ids are unique across the site: Conn2Flow skips a plugin's `modulos` row whose id another plugin or
   * the core owns, then attaches the plugin's `usuarios_perfis_modulos` rows to that other module, and says
   * the sync succeeded. Why the package would collide, before the installer runs; undefined when it would not.
   */
  private async moduleCollision(pluginId: string, zip: string): Promise<string | undefined> {
    const data = await readZip(zip, (name) => name === 'db/data/ModulosData.json');
    const file = data.contents.get('db/data/ModulosData.json');
    if (!file) return undefined;
    let rows: unknown;
    try {
      rows = JSON.parse(file.toString('utf8'));
    } catch (error) {
      return `db/data/ModulosData.json is not JSON: ${(error as Error).message}`;
    }
    const ids = [
      ...new Set(
        (Array.isArray(rows) ? rows : [])
          .map((row) => (row as { id?: unknown })?.id)
          .filter((id): id is string => typeof id === 'string'),
      ),
    ];
    if (!ids.length) return undefined;
    const owners = await this.db
      .query<{ id: string; plugin: string | null }>('select id, plugin from modulos where id in (?)', [ids])
      .catch((error: { code?: string }) => {
        if (error.code === 'ER_NO_SUCH_TABLE') return [];
        throw error;
      });
    const taken = owners.filter((row) => row.plugin !== pluginId);
    if (!taken.length) return undefined;
    const described = taken
      .map((row) => `"${row.id}" belongs to ${row.plugin ? `plugin ${row.plugin}` : 'the core'}`)
      .join(', ');
    return `the package's modules collide with the site's: module ${described}. Conn2Flow would skip this plugin's row and attach its permissions to the other module; rename the module in the plugin`;
  }

  /** Creates or repoints the plugins row, clearing the package checksum; returns the admin action that fits. */
  private async preparePluginRow(job: Job, zip: string): Promise<'install' | 'update'> {
    const connection = await this.db.connect();
    try {
      const [rows] = await connection.query('select id_plugins from plugins where id = ? order by id_plugins desc', [
        job.plugin.id,
      ]);
      const existing = (rows as Array<{ id_plugins: number }>)[0];
      if (!existing) {
        await connection.query(
          "insert into plugins (id, nome, origem_tipo, origem_referencia, status) values (?, ?, 'local_path', ?, 'A')",
          [job.plugin.id, job.plugin.name, zip],
        );
        return 'install';
      }
      await connection.query(
        "update plugins set origem_tipo = 'local_path', origem_referencia = ?, status = 'A', checksum_pacote = null where id_plugins = ?",
        [zip, existing.id_plugins],
      );
      const present = (
        await stat(path.join(this.settings.gestorDir, 'plugins', job.plugin.id)).catch(() => undefined)
      )?.isDirectory();
      return present ? 'update' : 'install';
    } finally {
      await connection.end();
    }
  }

  /**
   * Conn2Flow never prunes gestor/plugins/_backups/<id>-<time>.zip (one per update) nor its temporary copy
   * $TMPDIR/plg_<id>.zip: the newest `keep` backups stay, the temporary copy goes once the install is over.
   */
  async pruneLeftovers(pluginId: string, keep: number): Promise<string[]> {
    const folder = path.join(this.settings.gestorDir, 'plugins', '_backups');
    const backups = (await readdir(folder).catch(() => [] as string[]))
      .filter((name) => name.startsWith(`${pluginId}-`) && /^\d{8}-\d{6}\.zip$/.test(name.slice(pluginId.length + 1)))
      .sort();
    const doomed = [
      ...backups.slice(0, Math.max(backups.length - keep, 0)).map((name) => path.join(folder, name)),
      path.join(tmpdir(), `plg_${pluginId}.zip`),
    ];
    const removed: string[] = [];
    for (const file of doomed)
      if (
        await rm(file).then(
          () => true,
          () => false,
        )
      )
        removed.push(file);
    return removed;
  }

  /** `$_GESTOR['versao']` in gestor/config.php: the Conn2Flow version the site runs (read, never run). */
  async siteVersion(): Promise<string | null> {
    const config = await readFile(path.join(this.settings.gestorDir, 'config.php'), 'utf8').catch(() => '');
    return /\$_GESTOR\s*\[\s*['"]versao['"]\s*\]\s*=\s*['"](\d+\.\d+\.\d+)['"]/.exec(config)?.[1] ?? null;
  }

  /** A post-install script: `php <script>` from the plugin's folder, as the web server's user runs the site. */
  async runScript(pluginId: string, script: string, timeoutSeconds: number): Promise<ScriptRun> {
    const folder = path.join(this.settings.gestorDir, 'plugins', pluginId);
    const file = path.join(folder, script);
    if (!(await stat(file).catch(() => undefined))?.isFile())
      return { ok: false, problem: `is not in ${folder} after the install`, output: [] };
    const result = await runProcess(this.settings.php, [file], { cwd: folder, timeoutMs: timeoutSeconds * 1000 });
    const output = tail(`${result.stdout}\n${result.stderr}`, 10);
    if (result.spawnError)
      return { ok: false, problem: `could not be started (${this.settings.php}: ${result.spawnError})`, output };
    if (result.timedOut) return { ok: false, problem: `ran longer than ${timeoutSeconds} s and was stopped`, output };
    if (result.code !== 0) return { ok: false, problem: `exited with ${result.code ?? result.signal}`, output };
    return { ok: true, output };
  }

  private async filesVersion(pluginId: string): Promise<string | null> {
    try {
      const manifest = JSON.parse(
        await readFile(path.join(this.settings.gestorDir, 'plugins', pluginId, 'manifest.json'), 'utf8'),
      ) as { version?: unknown };
      return validVersion(manifest.version);
    } catch {
      return null;
    }
  }

  private installerLogFile(): string {
    return path.join(this.settings.gestorDir, 'logs', 'plugins', 'installer.log');
  }

  private async installerLogSize(): Promise<number> {
    return (await stat(this.installerLogFile()).catch(() => undefined))?.size ?? 0;
  }

  /** This plugin's lines that this run appended to installer.log (the JSON result's log is cut short). */
  private async installerLogSince(offset: number, pluginId: string): Promise<string[]> {
    const file = await open(this.installerLogFile(), 'r').catch(() => undefined);
    if (!file) return [];
    try {
      const size = (await file.stat()).size;
      const start = Math.max(offset, size - INSTALLER_LOG_BYTES);
      if (size <= start) return [];
      const buffer = Buffer.alloc(size - start);
      await file.read(buffer, 0, buffer.length, start);
      const lines = buffer
        .toString('utf8')
        .split(/\r?\n/)
        .filter((line) => line.includes(`[PLUGIN:${pluginId}]`));
      return lines.length ? ['-- gestor/logs/plugins/installer.log (this run):', ...tail(lines.join('\n'), 25)] : [];
    } finally {
      await file.close();
    }
  }

  private async forceDataSync(
    job: Job,
    zip: string,
    onProcess?: (pgid: number) => void,
  ): Promise<{ log: string[]; failure?: string }> {
    const id = job.plugin.id;
    const data = await readZip(zip, (name) => /^db\/data\/[^/]+Data\.json$/.test(name));
    if (!data.contents.size) return { log: ['no db/data files: nothing to sync'] };
    const dataDir = path.join(this.settings.gestorDir, 'plugins', id, 'db', 'data');
    await mkdir(dataDir, { recursive: true });
    for (const [name, content] of data.contents) await writeFile(path.join(dataDir, path.basename(name)), content);
    const args = [
      path.join(this.settings.gestorDir, 'controladores', 'plugins', 'atualizacao-plugin-banco-de-dados.php'),
      `--plugin=${id}`,
      '--force-all',
    ];
    if (job.options.skipMigrations) args.push('--skip-migrate');
    const sync = await this.php(args, onProcess);
    await rm(path.join(this.settings.gestorDir, 'plugins', id, 'db'), { recursive: true, force: true });
    const log = [
      `$ php atualizacao-plugin-banco-de-dados.php --plugin=${id} --force-all`,
      ...tail(`${sync.stdout}\n${sync.stderr}`, 15),
    ];
    if (sync.failure) return { log, failure: `data sync: ${sync.failure.message}` };
    if (sync.code !== 0)
      return {
        log,
        failure: `the forced data sync failed (exit ${sync.code}): the plugin's rows may be missing or stale`,
      };
    return { log };
  }

  private async php(
    args: string[],
    onSpawn?: (pgid: number) => void,
  ): Promise<{ code: number | null; stdout: string; stderr: string; failure?: { code: number; message: string } }> {
    const result = await runProcess(this.settings.php, args, {
      cwd: path.dirname(this.settings.gestorDir),
      timeoutMs: this.settings.timeoutSeconds * 1000,
      onSpawn,
    });
    const script = path.basename(args[0]);
    if (result.spawnError)
      return {
        ...result,
        failure: {
          code: AGENT_EXIT.INSTALLER_NOT_RUN,
          message: `cannot run ${this.settings.php}: ${result.spawnError}`,
        },
      };
    if (result.timedOut)
      return {
        ...result,
        failure: {
          code: AGENT_EXIT.INSTALLER_TIMEOUT,
          message: `${script} ran longer than ${this.settings.timeoutSeconds} s and was stopped`,
        },
      };
    if (result.code === null)
      return {
        ...result,
        failure: { code: AGENT_EXIT.INSTALLER_CRASHED, message: `${script} was killed by ${result.signal}` },
      };
    if (result.code === 255)
      return {
        ...result,
        failure: { code: AGENT_EXIT.INSTALLER_CRASHED, message: `${script} died with a PHP fatal error (exit 255)` },
      };
    return result;
  }
}

interface Migration {
  file: string;
  version: number;
}

/** The package's Phinx migrations (db/migrations/<version>_<name>.php), in version order. */
async function packageMigrations(zip: string): Promise<Migration[]> {
  const listed = await readZip(zip, () => false);
  return listed.entries
    .map(({ name }) => /^db\/migrations\/((\d+)_\w+\.php)$/.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ file: match[1], version: Number(match[2]) }))
    .sort((a, b) => a.version - b.version);
}

function validVersion(value: unknown): string | null {
  return typeof value === 'string' && /^\d+\.\d+\.\d+$/.test(value) ? value : null;
}

function fail(exitCode: number, message: string, log: string[]): InstallerResult {
  return { exitCode, message, logTail: log.slice(-50), installedVersion: null, siteChanged: false };
}

/** Sets every file's times under a folder to now; returns how many. */
async function touchFiles(folder: string): Promise<number> {
  const now = new Date();
  const files = (await readdir(folder, { withFileTypes: true, recursive: true }).catch(() => [])).filter((d) =>
    d.isFile(),
  );
  await Promise.all(files.map((d) => utimes(path.join(d.parentPath, d.name), now, now).catch(() => {})));
  return files.length;
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
