import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2/promise';
import { Agent } from '../../src/agent/agent.ts';
import { completeConfig } from '../../src/agent/config.ts';
import type { Job, Report } from '../../src/protocol/messages.ts';
import { tempDir, waitFor } from '../helpers.ts';
import { FakeBot } from './fake-bot.ts';
import { MARIADB, createStandInSite, pluginPackages, type StandInSite } from './standin-site.ts';

// The conn2flow installer against a stand-in gestor tree whose PHP scripts behave as Conn2Flow's do (exit 0
// always, JSON after log lines, silent failures, the package-checksum gate, a row written even when the
// files were not replaced, a JSON log cut after ~1,000 characters) and a real MariaDB holding the site's
// tables. The agent must report the truth, not what the script says, and leave the site in a state the next
// job can fix.

const bot = new FakeBot();
const agents: Agent[] = [];
let site: StandInSite;
let agent: Agent;
let agentUrl: string;
let packages: Record<string, { zip: string; sha256: string }>;

async function startAgent(
  gestorDir: string,
  settings: Record<string, unknown> = {},
  installer: Record<string, unknown> = {},
): Promise<{ agent: Agent; url: string }> {
  const dataDir = await tempDir('c2f-agent-');
  const started = new Agent(
    completeConfig(
      {
        hostId: bot.hostId,
        secret: bot.secret,
        botUrl: bot.url,
        listen: { port: 0 },
        heartbeatSeconds: 3600,
        allowHttpDownloads: true,
        installer: { type: 'conn2flow', gestorDir, timeoutSeconds: 20, ...installer },
        ...settings,
      },
      path.join(dataDir, 'c2f-agent.json'),
    ),
    { log: () => {} },
  );
  agents.push(started);
  return { agent: started, url: (await started.start()).url! };
}

before(async () => {
  await bot.start();
  site = await createStandInSite();
  packages = await pluginPackages('full-plugin', ['1.2.3', '1.3.0']);
  // This agent reports failures without putting the previous version back; the restore has its own tests.
  ({ agent, url: agentUrl } = await startAgent(site.gestor, { restoreOnFailure: false }));
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  await bot.stop();
});

async function run(to: { agent: Agent; url: string }, job: Job): Promise<Report> {
  assert.equal((await bot.push(to.url, job)).status, 202);
  await to.agent.idle();
  return await waitFor(
    () => bot.reports.find((r) => r.attemptId === job.attemptId && (r.status === 'ok' || r.status === 'erro')),
    'the final report',
  );
}

async function finalReport(version: string, fields: Parameters<FakeBot['jobFor']>[1] = {}, from = packages) {
  return run(
    { agent, url: agentUrl },
    await bot.jobFor(from[version].zip, { pluginId: 'full-plugin', version, ...fields }),
  );
}

const installerLog = (report: Report) =>
  report.logTail.slice(report.logTail.indexOf('-- gestor/logs/plugins/installer.log (this run):'));

test("a silent failure (status ok, codigo_saida 0, nothing installed) is VERIFY_FAILED, and Conn2Flow's admin says erro", async () => {
  await site.mode('silent');
  const report = await finalReport('1.2.3');
  assert.equal(report.status, 'erro');
  assert.deepEqual([report.exitCode, report.exitLabel], [43, 'VERIFY_FAILED']);
  assert.match(report.message, /manifest\.json is missing/);
  // The row the agent created for the installer points at the kept package; after the failure it says erro
  // (Conn2Flow itself never does) and claims no version the files do not have.
  const row = (await site.row('full-plugin'))!;
  assert.equal(row.origem_tipo, 'local_path');
  assert.match(row.origem_referencia, /backups\/full-plugin\/1\.2\.3\.zip$/);
  assert.deepEqual([row.status_execucao, row.versao_instalada, row.checksum_pacote], ['erro', null, null]);
  assert.deepEqual(report.inventory, { pluginId: 'full-plugin', version: null, sha256: null });
});

test("install: a plugins row, the admin CLI, the forced data sync, then the site is checked; the installer's own log is in the report", async () => {
  await site.mode('normal');
  // A stale digest left by an earlier failed install must not break this one.
  await writeFile(path.join(tmpdir(), 'plg_full-plugin.zip.sha256'), `${'0'.repeat(64)}\n`);
  const report = await finalReport('1.2.3');
  assert.equal(report.status, 'ok', report.message);
  assert.equal(report.installedVersion, '1.2.3');
  assert.ok(
    report.logTail.some((l) => l.includes('--action=install')),
    report.logTail.join('\n'),
  );
  assert.ok(report.logTail.some((l) => l.includes('[INFO] [PLUGIN:full-plugin]')));
  assert.ok(
    installerLog(report).some((l) => /\[PLUGIN:full-plugin\] Plugin movido para/.test(l)),
    report.logTail.join('\n'),
  );
  assert.equal(await site.filesVersion('full-plugin'), '1.2.3');
  const row = (await site.row('full-plugin'))!;
  assert.deepEqual(
    [row.versao_instalada, row.checksum_pacote, row.versao, row.status_execucao],
    ['1.2.3', packages['1.2.3'].sha256, 123, 'ok'],
  );
  const synced = await site.query<{ forced: number }>(
    "select file, forced from {db}.standin_sync where plugin = 'full-plugin'",
  );
  assert.ok(synced.length >= 4, 'the data sync ran over every Data.json');
  assert.ok(synced.every((s) => s.forced === 1));
  // The installer's final state is restored: no db/ left in the plugin folder.
  assert.equal(await stat(path.join(site.gestor, 'plugins', 'full-plugin', 'db')).catch(() => null), null);
  const inventory = [{ pluginId: 'full-plugin', version: '1.2.3', sha256: packages['1.2.3'].sha256 }];
  assert.deepEqual(await agent.inventory(), inventory);
  assert.deepEqual(report.inventory, inventory[0], 'the final report carries what the site has now');
});

test('update to a new version; the row and files follow', async () => {
  await site.mode('normal');
  const report = await finalReport('1.3.0', { action: 'update' });
  assert.equal(report.status, 'ok', report.message);
  assert.ok(report.logTail.some((l) => l.includes('--action=update')));
  assert.equal((await site.row('full-plugin'))!.versao_instalada, '1.3.0');
});

test('a rollback installs the kept package and is verified', async () => {
  await site.mode('normal');
  const report = await finalReport('1.2.3', { action: 'rollback' });
  assert.equal(report.status, 'ok', report.message);
  assert.equal((await site.row('full-plugin'))!.versao_instalada, '1.2.3');
  assert.equal(await site.filesVersion('full-plugin'), '1.2.3');
});

test('reinstalling the installed package is not skipped by Conn2Flow\'s "checksum unchanged" gate', async () => {
  await site.mode('normal');
  assert.equal(
    (await site.row('full-plugin'))!.checksum_pacote,
    packages['1.2.3'].sha256,
    'the gate would fire: the row has this package',
  );
  const folder = path.join(site.gestor, 'plugins', 'full-plugin');
  const inodeBefore = (await stat(folder)).ino;
  const report = await finalReport('1.2.3', { force: true });
  assert.equal(report.status, 'ok', report.message);
  const log = installerLog(report).join('\n');
  assert.doesNotMatch(log, /checksum inalterado/);
  assert.match(log, /Plugin movido para/);
  assert.notEqual((await stat(folder)).ino, inodeBefore, 'the folder was really replaced');
});

test('a row the installer never updated is VERIFY_FAILED, not ok; the row is then made to match the files', async () => {
  await site.mode('no-row-update');
  const report = await finalReport('1.3.0', { action: 'update' });
  assert.deepEqual([report.status, report.exitCode], ['erro', 43]);
  assert.match(report.message, /versao_instalada "1\.2\.3", not 1\.3\.0/);
  assert.match(report.message, /restoring 1\.2\.3 is off/);
  // The files are 1.3.0 now: the row says so (and no package checksum), and Conn2Flow's admin says erro.
  const row = (await site.row('full-plugin'))!;
  assert.deepEqual([row.versao_instalada, row.checksum_pacote, row.status_execucao], ['1.3.0', null, 'erro']);
  assert.equal(report.inventory?.version, '1.3.0');
});

test('codigo_saida from the JSON is the exit code, although the process exited 0; its cause comes from installer.log', async () => {
  await site.mode('code-11');
  const report = await finalReport('1.3.0', { action: 'update', force: true });
  assert.deepEqual([report.status, report.exitCode, report.exitLabel], ['erro', 11, 'VALIDATE']);
  assert.match(report.message, /Manifesto inválido/);
  // The JSON's log is cut after ~1,000 characters, before the line that says why; installer.log has it.
  const json = report.logTail.find((l) => l.includes('"log":'))!;
  assert.ok(json && !json.includes('Missing required field'), json);
  assert.ok(
    installerLog(report).some((l) => l.includes('[erro] Manifesto inválido: Missing required field: name')),
    report.logTail.join('\n'),
  );
});

test('a PHP fatal error (exit 255, no JSON) is INSTALLER_CRASHED', async () => {
  await site.mode('fatal');
  const report = await finalReport('1.3.0', { action: 'update', force: true });
  assert.deepEqual([report.exitCode, report.exitLabel], [41, 'INSTALLER_CRASHED']);
  assert.ok(report.logTail.some((l) => l.includes('PHP Fatal error')));
});

test('a failing forced data sync is VERIFY_FAILED with its output', async () => {
  await site.mode('sync-fails');
  const report = await finalReport('1.3.0', { action: 'update', force: true });
  assert.deepEqual([report.exitCode, report.exitLabel], [43, 'VERIFY_FAILED']);
  assert.match(report.message, /data sync failed/);
  assert.ok(report.logTail.some((l) => l.includes('Incorrect integer value')));
});

test('files that could not be replaced (the row claims the new version anyway) fail; the retry installs', async () => {
  await site.mode('normal');
  assert.equal((await finalReport('1.2.3', { force: true })).status, 'ok');
  await site.mode('locked-once');
  const failed = await finalReport('1.3.0', { action: 'update' });
  assert.deepEqual([failed.status, failed.exitCode], ['erro', 43]);
  assert.match(failed.message, /manifest\.json has version 1\.2\.3, not 1\.3\.0/);
  assert.ok(
    failed.logTail.some((l) => l.includes('Operation not permitted')),
    'the PHP warnings are in the log',
  );
  // Conn2Flow wrote 1.3.0 and its checksum into the row; the agent put back what the files are.
  const row = (await site.row('full-plugin'))!;
  assert.deepEqual(
    [row.versao_instalada, row.checksum_pacote, row.status_execucao],
    ['1.2.3', packages['1.2.3'].sha256, 'erro'],
  );
  assert.deepEqual(failed.inventory, { pluginId: 'full-plugin', version: '1.2.3', sha256: packages['1.2.3'].sha256 });
  // The same package again (a retry): not skipped as "checksum unchanged", and it installs.
  const retried = await finalReport('1.3.0', { action: 'update' });
  assert.equal(retried.status, 'ok', retried.message);
  assert.equal(await site.filesVersion('full-plugin'), '1.3.0');
});

test('uninstall keeps a copy of the folder, removes it, says what Conn2Flow cannot undo; the same package then installs again', async () => {
  await site.mode('normal');
  await site.query(
    "insert into {db}.layouts (id, plugin) values ('a', 'full-plugin'), ('b', 'full-plugin'), ('c', 'other')",
  );
  const report = await finalReport('1.3.0', { action: 'uninstall' });
  assert.equal(report.status, 'ok', report.message);
  assert.match(report.message, /2 layouts/);
  assert.match(report.message, /migrations/);
  assert.equal(await site.filesVersion('full-plugin'), null);
  assert.equal((await site.row('full-plugin'))!.status, 'D');
  const backups = await readdir(path.join(agent.config.dataDir, 'backups', 'full-plugin'));
  assert.ok(
    backups.some((name) => name.startsWith('uninstalled-')),
    backups.join(', '),
  );
  assert.deepEqual(await agent.inventory(), []);
  assert.deepEqual(report.inventory, { pluginId: 'full-plugin', version: null, sha256: null }, 'nothing installed');
  const again = await finalReport('1.3.0');
  assert.equal(again.status, 'ok', again.message);
  assert.equal(await site.filesVersion('full-plugin'), '1.3.0');
});

test('an update that fails after changing the site is restored to the previous version from the kept package', async () => {
  const restoring = await startAgent(site.gestor);
  const kept = await pluginPackages('restore-plugin', ['2.0.0', '2.1.0']);
  const job = async (version: string, action: Job['action']) =>
    run(restoring, await bot.jobFor(kept[version].zip, { pluginId: 'restore-plugin', version, action }));
  await site.mode('normal');
  assert.equal((await job('2.0.0', 'install')).status, 'ok');

  // The data sync fails: the files and row are 2.1.0, the data is not; 2.0.0 goes back.
  await site.mode('sync-fails-once');
  const syncFailed = await job('2.1.0', 'update');
  assert.deepEqual([syncFailed.status, syncFailed.exitCode], ['erro', 43]);
  assert.match(syncFailed.message, /data sync failed.*; restored to 2\.0\.0$/);
  assert.ok(
    syncFailed.logTail.includes('-- restoring restore-plugin 2.0.0 from the kept package:'),
    syncFailed.logTail.join('\n'),
  );
  assert.equal(await site.filesVersion('restore-plugin'), '2.0.0');
  let row = (await site.row('restore-plugin'))!;
  assert.deepEqual(
    [row.versao_instalada, row.checksum_pacote, row.status_execucao],
    ['2.0.0', kept['2.0.0'].sha256, 'erro'],
  );
  assert.deepEqual(syncFailed.inventory, {
    pluginId: 'restore-plugin',
    version: '2.0.0',
    sha256: kept['2.0.0'].sha256,
  });

  // The files could not be replaced (the row says 2.1.0 anyway): the row goes back to what the files are.
  await site.mode('locked-once');
  const locked = await job('2.1.0', 'update');
  assert.match(locked.message, /has version 2\.0\.0, not 2\.1\.0; restored to 2\.0\.0$/);
  row = (await site.row('restore-plugin'))!;
  assert.deepEqual([row.versao_instalada, row.checksum_pacote], ['2.0.0', kept['2.0.0'].sha256]);

  // Nothing changed on the site (the installer refused at once): nothing to restore.
  await site.mode('code-11-once');
  const refused = await job('2.1.0', 'update');
  assert.match(refused.message, /Manifesto inválido; the site still has 2\.0\.0$/);
});

test('a migration that creates a table and throws is not ok: MIGRATION_FAILED names it and what Conn2Flow said, reports the table it left, and the previous version goes back', async () => {
  const restoring = await startAgent(site.gestor);
  const migration = (body: string) =>
    `<?php\nuse Phinx\\Migration\\AbstractMigration;\nfinal class CreateLojaPedidos extends AbstractMigration {\n  public function up(): void {\n${body}\n  }\n}\n`;
  const kept = await pluginPackages('loja', ['1.0.0', '1.1.0', '1.1.1'], {
    '1.1.0': {
      files: {
        'db/migrations/20261201000000_create_loja_pedidos.php': migration(
          "    $this->execute('create table loja_pedidos (id int primary key)');\n    throw new RuntimeException('Column \"total\" does not exist');",
        ),
      },
    },
    '1.1.1': {
      files: {
        'db/migrations/20261201000000_create_loja_pedidos.php': migration(
          "    $this->execute('create table if not exists loja_pedidos (id int primary key)');",
        ),
      },
    },
  });
  const job = async (version: string, action: Job['action']) =>
    run(restoring, await bot.jobFor(kept[version].zip, { pluginId: 'loja', version, action }));
  await site.mode('normal');
  const installed = await job('1.0.0', 'install');
  assert.equal(installed.status, 'ok', `${installed.message}\n${installed.logTail.join('\n')}`);

  const failed = await job('1.1.0', 'update');
  assert.deepEqual([failed.status, failed.exitCode, failed.exitLabel], ['erro', 47, 'MIGRATION_FAILED']);
  assert.equal(
    failed.message,
    'migration 20261201000000_create_loja_pedidos.php did not run (phinxlog has no row for 20261201000000): Conn2Flow said "Column "total" does not exist"; the failed run left table(s) loja_pedidos (MySQL does not undo DDL: drop them, or fix the migration so it can run again); restored to 1.0.0',
  );
  assert.equal(await site.filesVersion('loja'), '1.0.0');
  assert.deepEqual(await site.query('select count(*) as n from {db}.phinxlog where version = 20261201000000'), [
    { n: 0 },
  ]);
  assert.equal((await site.row('loja'))!.status_execucao, 'erro');

  // The author fixes the migration: it runs, and the job is ok.
  const fixed = await job('1.1.1', 'update');
  assert.equal(fixed.status, 'ok', fixed.message);
  assert.deepEqual(await site.query('select count(*) as n from {db}.phinxlog where version = 20261201000000'), [
    { n: 1 },
  ]);
});

test('the site is asked after an install: a broken page puts the previous version back (46); a dependency the site lacks refuses the job first (30)', async () => {
  let answer = { status: 200, body: '<html><body>Loja</body></html>' };
  const pages = createServer((_req, res) =>
    res.writeHead(answer.status, { 'content-type': 'text/html' }).end(answer.body),
  );
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  const healthUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/`;
  try {
    // The pages here are not PHP: no opcache to wait for (the opcache test waits for real).
    const checked = await startAgent(site.gestor, {
      healthCheck: { urls: [healthUrl], timeoutSeconds: 2, settleSeconds: 0, intervalSeconds: 0 },
    });
    const kept = await pluginPackages('health-plugin', ['3.0.0', '3.1.0', '3.2.0']);
    const job = async (version: string, fields: Parameters<FakeBot['jobFor']>[1] = {}) =>
      run(
        checked,
        await bot.jobFor(kept[version].zip, {
          pluginId: 'health-plugin',
          version,
          action: version === '3.0.0' ? 'install' : 'update',
          ...fields,
        }),
      );
    await site.mode('normal');
    const healthy = await job('3.0.0');
    assert.equal(healthy.status, 'ok', healthy.message);
    assert.ok(healthy.logTail.includes(`-- health check: ${healthUrl} answered`), healthy.logTail.join('\n'));

    answer = {
      status: 500,
      body: '<b>Fatal error</b>: Uncaught Error: Call to undefined function loja_total() in /var/www/gestor/plugins/health-plugin/loja.php:12',
    };
    const broken = await job('3.1.0');
    assert.deepEqual([broken.status, broken.exitCode, broken.exitLabel], ['erro', 46, 'HEALTH_CHECK_FAILED']);
    assert.match(
      broken.message,
      new RegExp(
        `^health check failed after the update: ${healthUrl} answered HTTP 500: Fatal error : Uncaught Error: Call to undefined function loja_total\\(\\).*; restored to 3\\.0\\.0$`,
      ),
    );
    assert.equal(await site.filesVersion('health-plugin'), '3.0.0');
    assert.deepEqual(broken.inventory, { pluginId: 'health-plugin', version: '3.0.0', sha256: kept['3.0.0'].sha256 });
    const row = (await site.row('health-plugin'))!;
    assert.deepEqual([row.versao_instalada, row.status_execucao], ['3.0.0', 'erro']);

    // A page that answers 200 but shows PHP's fatal error is broken too.
    answer = { status: 200, body: '<br /><b>Parse error</b>: syntax error, unexpected end of file in loja.php' };
    const parseError = await job('3.1.0');
    assert.equal(parseError.exitCode, 46);
    assert.match(parseError.message, /answered HTTP 200 with "Parse error" in the page.*; restored to 3\.0\.0$/);

    answer = { status: 200, body: 'ok' };
    const missing = await job('3.2.0', { dependencies: [{ id: 'payments', min: '2.0.0' }] });
    assert.deepEqual([missing.status, missing.exitCode, missing.exitLabel], ['erro', 30, 'DEPENDENCY']);
    assert.equal(
      missing.message,
      'dependency not met on this site: payments is not installed (needed: 2.0.0 or later); nothing was installed',
    );
    assert.equal(await site.filesVersion('health-plugin'), '3.0.0');
    const dependency = await pluginPackages('payments', ['2.1.0']);
    assert.equal(
      (await run(checked, await bot.jobFor(dependency['2.1.0'].zip, { pluginId: 'payments', version: '2.1.0' })))
        .status,
      'ok',
    );
    const met = await job('3.2.0', { dependencies: [{ id: 'payments', min: '2.0.0', max: '2.9.9' }] });
    assert.equal(met.status, 'ok', met.message);
    assert.equal(await site.filesVersion('health-plugin'), '3.2.0');
  } finally {
    pages.closeAllConnections();
    await new Promise<void>((resolve) => pages.close(() => resolve()));
  }
});

test("with PHP's opcache on, the health check waits for the new code and checks it again: a broken update served from the cache at first is still caught (46)", async () => {
  // The site's pages through PHP's own server with opcache on, as Debian's PHP-FPM runs them: a changed file
  // is seen only once opcache.revalidate_freq seconds have passed since it was last checked.
  const docroot = await tempDir('c2f-docroot-');
  await writeFile(
    path.join(docroot, 'index.php'),
    `<?php include ${JSON.stringify(path.join(site.gestor, 'plugins', 'cached-plugin', 'page.php'))};`,
  );
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const server = spawn(
    'php',
    [
      '-d',
      'opcache.enable_cli=1',
      '-d',
      'opcache.validate_timestamps=1',
      '-d',
      'opcache.revalidate_freq=2',
      '-S',
      `127.0.0.1:${port}`,
      '-t',
      docroot,
    ],
    {
      stdio: 'ignore',
    },
  );
  const pageUrl = `http://127.0.0.1:${port}/`;
  try {
    await waitFor(async () => (await fetch(pageUrl).catch(() => undefined)) !== undefined, 'the PHP server');
    const ini = await tempDir('c2f-php-ini-');
    await writeFile(
      path.join(ini, 'php.ini'),
      '[opcache]\nopcache.enable=1\nopcache.validate_timestamps=1\nopcache.revalidate_freq=2\n',
    );
    const checked = await startAgent(site.gestor, {
      healthCheck: { urls: [pageUrl], timeoutSeconds: 5, phpIniDir: ini, passes: 2, intervalSeconds: 0.5 },
      reloadCommand: ['true'],
    });
    const page = (body: string) => ({ files: { 'page.php': `<?php ${body}` } });
    const kept = await pluginPackages('cached-plugin', ['1.0.0', '1.1.0'], {
      '1.0.0': page("echo 'Loja aberta';"),
      '1.1.0': page("throw new Error('loja_total() is gone');"),
    });
    const job = async (version: string, action: Job['action']) =>
      run(checked, await bot.jobFor(kept[version].zip, { pluginId: 'cached-plugin', version, action }));
    await site.mode('normal');
    const installed = await job('1.0.0', 'install');
    assert.equal(installed.status, 'ok', installed.message);
    assert.ok(
      installed.logTail.includes(
        `-- health check: waited 3 s for PHP's opcache to see the new files (opcache.revalidate_freq=2 in ${ini})`,
      ),
      installed.logTail.join('\n'),
    );
    assert.ok(installed.logTail.includes('-- reload: true ran'), 'the reload command ran after the install');
    assert.match(await (await fetch(pageUrl)).text(), /Loja aberta/, 'the page is in the cache');

    const broken = await job('1.1.0', 'update');
    assert.deepEqual([broken.status, broken.exitCode], ['erro', 46], broken.message);
    assert.match(
      broken.message,
      /^health check failed after the update: http:\/\/127\.0\.0\.1:\d+\/ answered HTTP 500.*; restored to 1\.0\.0$/,
    );
    assert.equal(await site.filesVersion('cached-plugin'), '1.0.0');
  } finally {
    server.kill('SIGKILL');
  }
});

test("the site's Conn2Flow version decides: a package for another major version is refused (31) before anything changes; post-install scripts run after the install, and a failing one puts the previous version back (48)", async () => {
  const scripted = await startAgent(site.gestor, { postInstall: { timeoutSeconds: 10 } });
  const marker = path.join(await tempDir('c2f-post-install-'), 'ran.log');
  const kept = await pluginPackages('scripted', ['1.0.0', '1.1.0', '2.0.0'], {
    '1.0.0': {
      manifest: { compatibility: { min: '2.0.0', max: '2.x' }, post_install_scripts: ['scripts/setup.php'] },
      files: {
        'scripts/setup.php': `<?php file_put_contents(${JSON.stringify(marker)}, getcwd() . "\\n", FILE_APPEND); echo "caches warmed\\n";`,
      },
    },
    '1.1.0': {
      manifest: { post_install_scripts: ['scripts/setup.php'] },
      files: {
        'scripts/setup.php':
          '<?php fwrite(STDERR, "SQLSTATE[42S02]: Base table or view not found: loja_config\\n"); exit(3);',
      },
    },
    '2.0.0': { manifest: { compatibility: { min: '3.0.0', max: '3.x' } } },
  });
  const job = async (version: string, action: Job['action']) =>
    run(scripted, await bot.jobFor(kept[version].zip, { pluginId: 'scripted', version, action }));
  await site.mode('normal');

  const installed = await job('1.0.0', 'install');
  assert.equal(installed.status, 'ok', installed.message);
  assert.deepEqual(
    (await readFile(marker, 'utf8')).trim(),
    path.join(site.gestor, 'plugins', 'scripted'),
    'run once, from the plugin folder',
  );
  assert.ok(installed.logTail.includes('-- post-install script scripts/setup.php: ok'), installed.logTail.join('\n'));
  assert.ok(installed.logTail.includes('caches warmed'));

  const failed = await job('1.1.0', 'update');
  assert.deepEqual([failed.status, failed.exitCode, failed.exitLabel], ['erro', 48, 'POST_INSTALL_FAILED']);
  assert.equal(failed.message, 'post-install script scripts/setup.php exited with 3; restored to 1.0.0');
  assert.ok(failed.logTail.includes('SQLSTATE[42S02]: Base table or view not found: loja_config'));
  assert.equal(await site.filesVersion('scripted'), '1.0.0');

  const incompatible = await job('2.0.0', 'update');
  assert.deepEqual([incompatible.status, incompatible.exitCode, incompatible.exitLabel], ['erro', 31, 'INCOMPATIBLE']);
  assert.equal(
    incompatible.message,
    'scripted 2.0.0 does not fit this site: it is for Conn2Flow 3.0.0 to 3.x; this site runs 2.9.43; nothing was installed',
  );
  assert.equal(await site.filesVersion('scripted'), '1.0.0');
  assert.equal(await scripted.agent.siteVersion(), '2.9.43', 'read from gestor/config.php (heartbeats carry it)');
});

test("what piles up is pruned after each install: Conn2Flow's backup zips beyond the newest N and its temporary copy, the agent's kept packages beyond N (never the installed one or the one before it)", async () => {
  const pruning = await startAgent(site.gestor, { backups: { keep: 1 } });
  const kept = await pluginPackages('pruned', ['1.0.0', '1.1.0', '1.2.0']);
  await site.mode('normal');
  // Backups of earlier updates (Conn2Flow names them by the second, so two in one second are one file).
  await mkdir(path.join(site.gestor, 'plugins', '_backups'), { recursive: true });
  for (const old of ['pruned-20250101-000000.zip', 'pruned-20260101-000000.zip'])
    await writeFile(path.join(site.gestor, 'plugins', '_backups', old), 'old');
  for (const [version, action] of [
    ['1.0.0', 'install'],
    ['1.1.0', 'update'],
    ['1.2.0', 'update'],
  ] as const) {
    const report = await run(pruning, await bot.jobFor(kept[version].zip, { pluginId: 'pruned', version, action }));
    assert.equal(report.status, 'ok', report.message);
  }
  const backups = (await readdir(path.join(site.gestor, 'plugins', '_backups'))).filter((name) =>
    name.startsWith('pruned-'),
  );
  assert.equal(backups.length, 1, `Conn2Flow's backups of pruned: ${backups.join(', ')}`);
  assert.doesNotMatch(backups[0], /^pruned-20(25|26)0101-000000\.zip$/, 'the newest stays');
  await assert.rejects(stat(path.join(tmpdir(), 'plg_pruned.zip')), { code: 'ENOENT' });
  const agentKept = (await readdir(path.join(pruning.agent.config.dataDir, 'backups', 'pruned'))).sort();
  assert.deepEqual(agentKept, ['1.1.0.zip', '1.2.0.zip'], 'the installed package and the one a rollback returns to');
});

test("the inventory reports what the files hold, and where Conn2Flow's row disagrees", async () => {
  await site.query("update {db}.plugins set versao_instalada = '9.9.9' where id = 'restore-plugin'");
  const entry = (await agent.inventory()).find((e) => e.pluginId === 'restore-plugin');
  assert.deepEqual(entry, {
    pluginId: 'restore-plugin',
    version: '2.0.0',
    sha256: null,
    problem: "Conn2Flow's plugins row says 9.9.9, but the files are 2.0.0",
  });
});

test('DB_HOST=localhost goes through the socket PHP uses, as the site does; a wrong socket is a clear error', async () => {
  const [user, password] = (process.env.TEST_MARIADB_LOCAL_USER ?? '').split(':');
  assert.ok(user, 'TEST_MARIADB_LOCAL_USER names a user granted for localhost only (".ci/run" creates it)');
  // That user is refused over TCP (the server does not resolve 127.0.0.1 to localhost), like many sites' users.
  const tcp = await mysql
    .createConnection({ host: '127.0.0.1', port: Number(new URL(MARIADB!).port || 3306), user, password })
    .then(
      (c) => c.end().then(() => 'connected'),
      (error: Error) => error.message,
    );
  assert.match(tcp, /Access denied for user 'c2fsock'@'127\.0\.0\.1'/);
  const local = await createStandInSite({ dbHost: 'localhost', user, password });
  const socketAgent = await startAgent(local.gestor);
  const kept = await pluginPackages('socket-plugin', ['1.0.0']);
  const report = await run(
    socketAgent,
    await bot.jobFor(kept['1.0.0'].zip, { pluginId: 'socket-plugin', version: '1.0.0' }),
  );
  assert.equal(report.status, 'ok', report.message);
  assert.equal((await local.row('socket-plugin'))!.versao_instalada, '1.0.0');

  const wrong = await startAgent(local.gestor, {}, { dbSocket: '/nonexistent/mysqld.sock' });
  const refused = await run(
    wrong,
    await bot.jobFor(kept['1.0.0'].zip, { pluginId: 'socket-plugin', version: '1.0.0' }),
  );
  assert.deepEqual([refused.status, refused.exitCode], ['erro', 10]);
  assert.match(
    refused.message,
    /cannot reach the database through the socket \/nonexistent\/mysqld\.sock \(ENOENT\): set installer\.dbSocket/,
  );
});

test("two sites on one machine installing the same plugin at once do not overwrite each other's temporary files", async () => {
  const [one, two] = [await createStandInSite(), await createStandInSite()];
  const first = await startAgent(one.gestor);
  const second = await startAgent(two.gestor);
  const kept = await pluginPackages('shared-slug', ['1.0.0', '1.0.1']);
  await one.mode('slow');
  await two.mode('slow');
  const started = Date.now();
  const [a, b] = await Promise.all([
    run(first, await bot.jobFor(kept['1.0.0'].zip, { pluginId: 'shared-slug', version: '1.0.0' })),
    run(second, await bot.jobFor(kept['1.0.1'].zip, { pluginId: 'shared-slug', version: '1.0.1' })),
  ]);
  assert.deepEqual([a.status, b.status], ['ok', 'ok'], `${a.message} / ${b.message}`);
  assert.ok(Date.now() - started >= 2000, 'one at a time: each waited for the other');
  assert.deepEqual([await one.filesVersion('shared-slug'), await two.filesVersion('shared-slug')], ['1.0.0', '1.0.1']);
});

test('a module id another plugin or the core owns is refused (11) before the installer runs; its own modules are fine', async () => {
  const site2 = await createStandInSite();
  const agent2 = await startAgent(site2.gestor);
  await site2.query(
    "insert into {db}.modulos (id, plugin, nome, language) values ('mod-a', 'other-plugin', 'A', 'pt-br'), ('mod-b', null, 'B', 'pt-br')",
  );
  const refused = await run(
    agent2,
    await bot.jobFor(packages['1.2.3'].zip, { pluginId: 'full-plugin', version: '1.2.3' }),
  );
  assert.deepEqual([refused.status, refused.exitCode, refused.exitLabel], ['erro', 11, 'VALIDATE']);
  assert.match(refused.message, /module "mod-a" belongs to plugin other-plugin, "mod-b" belongs to the core/);
  assert.equal(await site2.filesVersion('full-plugin'), null, 'the installer never ran');
  assert.equal(await site2.row('full-plugin'), undefined, 'no plugins row was created');
  await site2.query("update {db}.modulos set plugin = 'full-plugin'");
  const installed = await run(
    agent2,
    await bot.jobFor(packages['1.2.3'].zip, { pluginId: 'full-plugin', version: '1.2.3' }),
  );
  assert.equal(installed.status, 'ok', installed.message);
});
