import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { NODE_FLAGS, cli, tempDir, waitFor } from '../helpers.ts';
import { freshPgliteFolder } from './databases.ts';
import { REPO } from '../helpers.ts';

// Setup mode as an operator meets it: `c2f-plugin bot` from the bundle, started in an empty folder far from
// the repository, registers its GitHub App through the manifest flow (the stand-in plays github.com: its
// registration page creates the App and sends the browser back), writes .env, starts, and then receives
// the webhooks GitHub sends to the App's URL. `bot check` then finds everything in order.

const children: ChildProcess[] = [];
let github: GitHubStandIn;
before(async () => (github = await new GitHubStandIn().start()));
after(async () => {
  children.forEach((c) => c.kill('SIGKILL'));
  await github.stop();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function unescapeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));
}

test('the App registered from the setup page is private, carries its permissions and events, and its webhooks reach C2F_BOT_URL', {
  timeout: 120_000,
}, async () => {
  const cwd = await tempDir('c2f-setup-');
  await writeFile(
    path.join(cwd, '.env'),
    '# the operator\'s own settings stay\nLOG_LEVEL=warn\nPRIVATE_KEY="-----BEGIN OLD KEY-----\nstale\n-----END OLD KEY-----"\n',
  );
  const port = await freePort();
  const botUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    C2F_BOT_URL: botUrl,
    GHE_HOST: new URL(github.url).host,
    GHE_PROTOCOL: 'http',
    C2F_SECRET_KEY: Buffer.alloc(32, 5).toString('base64'),
    C2F_DATA_DIR: await freshPgliteFolder(),
    C2F_ADMIN_TOKEN: 'admin-token-long-enough',
    C2F_CONSOLE_USERS: 'octocat',
    APP_ID: '',
    PRIVATE_KEY: '',
    PRIVATE_KEY_PATH: '',
    WEBHOOK_SECRET: '',
  };
  const child = spawn(process.execPath, [...NODE_FLAGS, path.join(REPO, 'dist', 'cli.js'), 'bot'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));

  const link = await waitFor(() => /open (http:\/\/\S+\/setup\?key=\w+)/.exec(output)?.[1], 'the setup link');
  assert.match(output, new RegExp(`GitHub will send webhooks to ${botUrl}/api/github/webhooks`));
  assert.equal((await fetch(`${botUrl}/setup`)).status, 403, 'the page opens only with the printed key');
  assert.equal((await fetch(`${botUrl}/healthz`)).status, 503);

  const page = await (await fetch(link)).text();
  const action = unescapeHtml(/<form method="post" action="([^"]+)"/.exec(page)![1]);
  const manifest = JSON.parse(unescapeHtml(/name="manifest" value="([^"]+)"/.exec(page)![1]));
  assert.ok(action.startsWith(`${github.url}/settings/apps/new?state=`), action);
  assert.deepEqual(
    [
      manifest.public,
      manifest.hook_attributes.url,
      manifest.redirect_url,
      manifest.default_permissions,
      manifest.default_events,
    ],
    [
      false,
      `${botUrl}/api/github/webhooks`,
      `${botUrl}/setup/done`,
      { contents: 'read', metadata: 'read', checks: 'write' },
      ['release', 'check_run'],
    ],
  );

  const forgedReturn = await fetch(`${botUrl}/setup/done?code=abc&state=${'0'.repeat(32)}`);
  assert.equal(forgedReturn.status, 403, 'only a registration started from the page completes');

  // The browser posts the manifest to GitHub, which creates the App and sends it back with a code.
  const created = await fetch(action, {
    method: 'POST',
    body: new URLSearchParams({ manifest: JSON.stringify(manifest) }),
    redirect: 'manual',
  });
  assert.equal(created.status, 302, github.refusedManifests.join('; '));
  const back = created.headers.get('location')!;
  assert.ok(back.startsWith(`${botUrl}/setup/done?`), back);
  const done = await fetch(back);
  assert.equal(done.status, 200);
  assert.match(await done.text(), /is registered/);

  const [app] = github.apps.apps;
  assert.equal(app.manifest.public, false);
  const envFile = await readFile(path.join(cwd, '.env'), 'utf8');
  const keyFile = path.join(cwd, `github-app-${app.id}.private-key.pem`);
  assert.equal(
    envFile,
    `# the operator's own settings stay\nLOG_LEVEL=warn\nAPP_ID=${app.id}\nPRIVATE_KEY_PATH=${keyFile}\nWEBHOOK_SECRET=${app.webhookSecret}\nGITHUB_CLIENT_ID=${app.clientId}\nGITHUB_CLIENT_SECRET=${app.clientSecret}\n`,
  );
  assert.equal((await stat(path.join(cwd, '.env'))).mode & 0o777, 0o600);
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  assert.equal(await readFile(keyFile, 'utf8'), app.pem);

  // The same process now runs the bot, and GitHub's deliveries to the registered URL are accepted.
  await waitFor(
    async () =>
      (
        (await fetch(`${botUrl}/healthz`).then(
          (r) => r.json(),
          () => ({}),
        )) as { status?: string }
      ).status === 'ok',
    'the bot to start after registration',
  );
  assert.match(output, /install it on the repositories whose releases it rolls out: http:\/\/\S+\/installations\/new/);
  assert.match(output, /Check the set-up: c2f-plugin bot check/);
  // The console signs in with the OAuth client setup mode just wrote, without a restart.
  const signIn = await fetch(`${botUrl}/console/sign-in`);
  assert.equal(signIn.status, 200, 'the console is set up right after registration');
  const toGitHub = await fetch(`${botUrl}/console/sign-in/github`, { redirect: 'manual' });
  assert.match(toGitHub.headers.get('location') ?? '', new RegExp(`client_id=${app.clientId}`));
  const installation = {
    action: 'created',
    installation: { id: 41, account: { login: 'conn2flow' } },
    repositories: [],
    sender: { login: 'octocat' },
  };
  assert.equal(await github.apps.deliver(app, 'installation', installation), 200);
  const forged = await fetch(`${botUrl}/api/github/webhooks`, {
    method: 'POST',
    body: JSON.stringify(installation),
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'installation',
      'x-github-delivery': 'forged',
      'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
    },
  });
  assert.ok(forged.status >= 400 && forged.status < 500, `a wrongly signed delivery answered ${forged.status}`);

  // `bot check` in the same folder reads the same .env and finds everything in order.
  const checkEnv = {
    ...env,
    APP_ID: undefined,
    PRIVATE_KEY: undefined,
    PRIVATE_KEY_PATH: undefined,
    WEBHOOK_SECRET: undefined,
  };
  const checked = await cli(['bot', 'check'], { cwd, env: checkEnv });
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  assert.match(checked.stdout, new RegExp(`ok   webhook URL +GitHub sends webhooks to ${botUrl}/api/github/webhooks`));
  assert.match(checked.stdout, /ok {3}bot URL +.*answers: the bot is running/);
  assert.match(checked.stdout, /ok {3}database +PGlite in .*open in the running bot \(pid \d+\)/);
  assert.match(checked.stdout, /all 8 checks passed\n$/);

  // Pointed at another URL, it names both problems; a key GitHub does not know is refused by GitHub.
  const elsewhere = `http://127.0.0.1:${await freePort()}`;
  const moved = await cli(['bot', 'check', '--json'], { cwd, env: { ...checkEnv, C2F_BOT_URL: elsewhere } });
  assert.equal(moved.code, 78);
  const findings = JSON.parse(moved.stdout) as {
    ok: boolean;
    findings: Array<{ check: string; ok: boolean; detail: string }>;
  };
  assert.deepEqual(
    findings.findings.filter((f) => !f.ok).map((f) => f.check),
    ['webhook URL', 'bot URL'],
  );
  assert.match(
    findings.findings.find((f) => f.check === 'webhook URL')!.detail,
    new RegExp(
      `GitHub sends webhooks to ${botUrl}/api/github/webhooks, but this bot receives them at ${elsewhere}/api/github/webhooks`,
    ),
  );
  const { generateKeyPairSync } = await import('node:crypto');
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs1', format: 'pem' })
    .toString();
  const wrongKey = await cli(['bot', 'check'], { cwd, env: { ...checkEnv, PRIVATE_KEY: otherKey } });
  assert.equal(wrongKey.code, 78);
  assert.match(
    wrongKey.stdout,
    /FAIL GitHub App +GitHub refused the App's credentials \(HTTP 401: A JSON web token could not be decoded\): check APP_ID and the private key/,
  );
  assert.match(wrongKey.stdout, /1 of 6 checks failed\n$/);
  assert.deepEqual(github.violations, []);
});

test('setup mode needs the public URL, and an unknown argument is a usage error', async () => {
  const cwd = await tempDir('c2f-setup-');
  const noUrl = await cli(['bot'], {
    cwd,
    env: { C2F_BOT_URL: '', APP_ID: '', PRIVATE_KEY: '', PORT: String(await freePort()), HOST: '127.0.0.1' },
  });
  assert.equal(noUrl.code, 78);
  assert.equal(
    noUrl.stderr,
    "c2f-plugin bot: the bot's configuration is incomplete:\n  - C2F_BOT_URL is not set: the bot's public URL (https://bot.example.com): GitHub sends webhooks to it, hosts report to it and download private packages from it\n",
  );
  const usage = await cli(['bot', 'start'], { cwd });
  assert.equal(usage.code, 64);
  assert.match(usage.stderr, /unexpected argument "start"/);
});

test('a port already in use is one line, and the process ends without holding the data folder', {
  timeout: 60_000,
}, async () => {
  const cwd = await tempDir('c2f-port-');
  const dataDir = await freshPgliteFolder();
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const { port } = holder.address() as { port: number };
  try {
    const { generateKeyPairSync } = await import('node:crypto');
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    const env = {
      APP_ID: '1',
      PRIVATE_KEY: key,
      WEBHOOK_SECRET: 'x',
      C2F_BOT_URL: 'https://bot.example.com',
      C2F_SECRET_KEY: Buffer.alloc(32, 1).toString('base64'),
      C2F_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn' as const,
    };
    const busy = await cli(['bot'], { cwd, env });
    assert.equal(busy.code, 78);
    assert.equal(busy.stderr, `c2f-plugin bot: port ${port} on 127.0.0.1 is in use: stop what holds it, or set PORT\n`);
    await assert.rejects(stat(path.join(dataDir, 'c2f-bot.lock')), { code: 'ENOENT' });
  } finally {
    holder.close();
  }
});
