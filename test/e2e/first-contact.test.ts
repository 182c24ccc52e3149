import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, NODE_FLAGS, REPO, run, tempDir, waitFor, type Run } from '../helpers.ts';
import { testDatabaseUrl } from '../bot/databases.ts';
import { botSecrets, bundleBuilt, bundleCli, freePort } from './bundle.ts';

// What a new user meets first, through the shipped bundle: a bot still in setup mode answers every admin
// command and an agent's enrollment with one line that says so (exit 78); start-up failures of the bot and
// the agent are one line with their documented exit code, and the process ends; an unreachable bot is 69;
// pack is quiet off a terminal, a failed verify is one line, an unknown option is said in our words.

const AGENT_BIN = path.join(REPO, 'dist', 'c2f-agent.js');
const agentCli = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [AGENT_BIN, ...args], { env });

function assertOneLine(result: Run, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stderr.split('\n').filter(Boolean).length, 1, result.stderr);
  assert.match(result.stderr.trimEnd(), pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
}

let occupied: Server;
before(async () => {
  await bundleBuilt();
  occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
});
after(() => occupied.close());

test('a bot in setup mode: every admin command and an agent enrollment say so in one line, exit 78', {
  timeout: 60_000,
}, async () => {
  const cwd = await tempDir('c2f-setup-mode-');
  const port = await freePort();
  const botUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    C2F_BOT_URL: botUrl,
    APP_ID: '',
    PRIVATE_KEY: '',
    PRIVATE_KEY_PATH: '',
    WEBHOOK_SECRET: '',
  };
  const bot = spawn(process.execPath, [...NODE_FLAGS, path.join(REPO, 'dist', 'cli.js'), 'bot'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  bot.stdout.on('data', (chunk) => (output += chunk));
  try {
    await waitFor(() => output.includes('setup mode'), 'the bot in setup mode');
    const admin = { C2F_BOT_URL: botUrl, C2F_ADMIN_TOKEN: 'admin-token-long-enough' };
    for (const args of [
      ['hosts', 'list'],
      ['rollouts', 'list'],
      ['hosts', 'enroll-token', '--name', 'shop', '--plugin', 'owner/repo:plugin'],
    ]) {
      assertOneLine(
        await bundleCli(args, admin),
        78,
        /: the bot is in setup mode: its GitHub App is not registered yet; open the registration link "c2f-plugin bot" printed/,
      );
    }
    const enroll = await agentCli([
      'enroll',
      '--bot',
      botUrl,
      '--token',
      'c2fenroll_x',
      '--gestor',
      '/tmp',
      '--config',
      path.join(cwd, 'agent.json'),
    ]);
    assertOneLine(enroll, 78, /^c2f-agent enroll: enrollment failed: the bot answered 503: the bot is in setup mode/);
  } finally {
    bot.kill('SIGKILL');
  }
});

test('bot start-up: an unreachable database is 69, refused credentials and a missing key file 78, one line each', {
  timeout: 60_000,
}, async () => {
  const cwd = await tempDir('c2f-start-');
  const { privateKey, secretKey } = botSecrets();
  await writeFile(path.join(cwd, 'app.pem'), privateKey);
  const closed = await freePort();
  const base = {
    APP_ID: '1',
    PRIVATE_KEY: '',
    PRIVATE_KEY_PATH: path.join(cwd, 'app.pem'),
    WEBHOOK_SECRET: 'x',
    C2F_BOT_URL: 'https://bot.example.com',
  };
  const start = async (env: NodeJS.ProcessEnv) =>
    bundleCli(
      ['bot'],
      {
        ...base,
        C2F_SECRET_KEY: secretKey,
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'fatal',
        ...env,
      },
      cwd,
    );
  assertOneLine(
    await start({ DATABASE_URL: `postgres://c2f:c2f@127.0.0.1:${closed}/c2f` }),
    69,
    new RegExp(
      `^c2f-plugin bot: cannot reach the database at 127\\.0\\.0\\.1:${closed}/c2f \\(DATABASE_URL\\): connection refused; is PostgreSQL running`,
    ),
  );
  const wrong = new URL(testDatabaseUrl());
  wrong.password = 'not-the-password';
  assertOneLine(
    await start({ DATABASE_URL: wrong.toString() }),
    78,
    /refused the bot's user: password authentication failed .*; check the user and password in DATABASE_URL$/,
  );
  assertOneLine(
    await start({ PRIVATE_KEY_PATH: path.join(cwd, 'missing.pem'), C2F_DATA_DIR: path.join(cwd, 'data') }),
    78,
    /^c2f-plugin bot: PRIVATE_KEY_PATH .*missing\.pem: no such file; it is the GitHub App's private key/,
  );
});

test('agent: an address in use is one line, exit 78, and the process ends; enrolling with an unreachable bot is 69', {
  timeout: 60_000,
}, async () => {
  const dir = await tempDir('c2f-agent-port-');
  const { port } = occupied.address() as { port: number };
  const config = path.join(dir, 'agent.json');
  await writeFile(
    config,
    JSON.stringify({
      hostId: 'host_1',
      secret: `whsec_${Buffer.alloc(32, 3).toString('base64')}`,
      botUrl: 'http://127.0.0.1:9',
      listen: { host: '127.0.0.1', port, path: '/' },
      dataDir: path.join(dir, 'data'),
      installer: { type: 'command', command: ['true'] },
    }),
  );
  // run() resolves when the process has ended: an agent that kept its timers would time the test out.
  assertOneLine(
    await agentCli(['--config', config]),
    78,
    new RegExp(
      `^c2f-agent: 127\\.0\\.0\\.1:${port} is in use: stop what holds it, or change "listen" in the config file$`,
    ),
  );
  const closed = await freePort();
  assertOneLine(
    await agentCli([
      'enroll',
      '--bot',
      `http://127.0.0.1:${closed}`,
      '--token',
      'c2fenroll_x',
      '--gestor',
      '/tmp',
      '--config',
      path.join(dir, 'new.json'),
    ]),
    69,
    /^c2f-agent enroll: enrollment failed: the bot could not be reached \(connection refused\)$/,
  );
});

test('pack says nothing of its progress off a terminal; a failed verify and an unknown option are one line each', async () => {
  const out = await tempDir();
  const packed = await bundleCli(['pack', path.join(FIXTURES, 'plugins', 'full-plugin'), '--out', out]);
  assert.equal(packed.code, 0, packed.stderr);
  assert.doesNotMatch(packed.stderr, /validating|collecting|generating|packing/);
  const bad = path.join(out, 'bad.zip');
  await writeFile(bad, 'not a zip');
  const verify = await bundleCli(['verify', bad]);
  assertOneLine(
    verify,
    21,
    /bad\.zip: error: 9 bytes: the installer rejects packages under 128 bytes \[zip-too-small\]$/,
  );
  assert.equal(verify.stdout, '');
  assertOneLine(
    await bundleCli(['verify', bad, '--frob']),
    64,
    /^c2f-plugin verify: unknown option --frob; "c2f-plugin verify --help" shows how to use it$/,
  );
  assertOneLine(await bundleCli(['pack', '--out']), 64, /^c2f-plugin pack: --out needs a value; /);
  assertOneLine(
    await agentCli(['status', '--bogus']),
    64,
    /^c2f-agent: unknown option --bogus; "c2f-agent --help" shows how to use it$/,
  );
});
