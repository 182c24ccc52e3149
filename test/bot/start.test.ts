import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { NODE_FLAGS, REPO, run, tempDir } from '../helpers.ts';

const BUNDLE = path.join(REPO, 'dist', 'cli.js');

// `c2f-plugin bot` as an operator runs it: the built bundle as a real process, configured by the environment.
const children: ChildProcess[] = [];
after(() => children.forEach((c) => c.kill('SIGKILL')));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startBot(cwd: string, env: NodeJS.ProcessEnv): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...NODE_FLAGS, BUNDLE, 'bot'], {
    cwd,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: 'ignore',
  });
  children.push(child);
  for (let i = 0; i < 150; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' }).then(
      () => true,
      () => false,
    );
    if (ok) return { port, child };
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail('the bot did not start listening');
}

test('with credentials it serves webhooks and the API from a PGlite folder, which a second process cannot open', {
  timeout: 90_000,
}, async () => {
  const cwd = await tempDir('c2f-bot-run-');
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await writeFile(path.join(cwd, 'key.pem'), privateKey);
  const env = {
    APP_ID: '1',
    PRIVATE_KEY_PATH: path.join(cwd, 'key.pem'),
    WEBHOOK_SECRET: 'x',
    C2F_SECRET_KEY: Buffer.alloc(32, 3).toString('base64'),
    C2F_DATA_DIR: path.join(cwd, 'data'),
    C2F_ADMIN_TOKEN: 'admin-token-long-enough',
    C2F_BOT_URL: 'https://bot.example.com',
  };
  const { port } = await startBot(cwd, env);
  assert.deepEqual(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json(), { status: 'ok' });
  const hosts = await fetch(`http://127.0.0.1:${port}/api/admin/hosts`, {
    headers: { authorization: 'Bearer admin-token-long-enough' },
  });
  assert.deepEqual([hosts.status, await hosts.json()], [200, []]);
  const unsigned = await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
    method: 'POST',
    headers: { 'x-github-event': 'release', 'x-github-delivery': '1', 'content-type': 'application/json' },
    body: '{}',
  });
  assert.ok(unsigned.status >= 400 && unsigned.status < 500, `unsigned webhook answered ${unsigned.status}`);

  const second = await run(process.execPath, [...NODE_FLAGS, BUNDLE, 'bot'], {
    cwd,
    env: { ...env, PORT: String(await freePort()), HOST: '127.0.0.1' },
  });
  assert.equal(second.code, 78);
  assert.match(
    second.stderr,
    /c2f-plugin bot: the data folder .* is in use by another bot process \(pid \d+\).*DATABASE_URL/,
  );
  assert.doesNotMatch(second.stderr, /\n\s+at /);
  const noKey = await run(process.execPath, [...NODE_FLAGS, BUNDLE, 'bot'], {
    cwd,
    env: {
      ...env,
      C2F_SECRET_KEY: '',
      C2F_DATA_DIR: path.join(cwd, 'other'),
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
    },
  });
  assert.equal(noKey.code, 78);
  assert.match(noKey.stderr, /C2F_SECRET_KEY is not set/);
  // With App credentials the bot sends jobs, which carry its URL: it does not make one up.
  const bad = {
    C2F_BOT_URL: '',
    C2F_RETRY_SCHEDULE: '5,soon',
    C2F_PULL_LEASE_SECONDS: 'a minute',
    C2F_ADMIN_TOKEN: 'short',
    C2F_RETENTION_DAYS: '0',
  };
  const noUrl = await run(process.execPath, [...NODE_FLAGS, BUNDLE, 'bot'], {
    cwd,
    env: { ...env, ...bad, C2F_DATA_DIR: path.join(cwd, 'third'), PORT: '70000', HOST: '127.0.0.1' },
  });
  assert.equal(noUrl.code, 78);
  assert.equal(
    noUrl.stderr,
    "c2f-plugin bot: the bot's configuration is incomplete:\n" +
      "  - C2F_BOT_URL is not set: the bot's public URL (https://bot.example.com): GitHub sends webhooks to it, hosts report to it and download private packages from it\n" +
      '  - C2F_RETRY_SCHEDULE must be seconds separated by commas (5,300,1800), found "5,soon"\n' +
      '  - PORT must be <= 65535 (found 70000)\n' +
      '  - C2F_ADMIN_TOKEN must NOT have fewer than 16 characters (found "…")\n' +
      '  - C2F_PULL_LEASE_SECONDS must be a number, found not a number\n' +
      '  - C2F_RETENTION_DAYS must be >= 1 (found 0)\n',
  );
});
