import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { NODE_FLAGS, REPO, cli, waitFor } from '../helpers.ts';

// `npm run demo -- --keep` end to end: the packer, the GitHub stand-in, the bot on PGlite (serving the private
// package itself), two enrolled agents as real processes, a manual approval; both hosts end ok. Then it stays
// up: the console it prints answers after signing in through the stand-in (which plays GitHub's OAuth), the
// commands it prints reach the bot, and Ctrl-C ends it.

/** The cookies a response sets, as a Cookie header value added to `jar`. */
function keepCookies(response: Response, jar: Map<string, string>): void {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair.indexOf('=');
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
}

test('npm run demo -- --keep: a release reaches an auto and a manual host, then the console and the commands it prints work', {
  timeout: 180_000,
}, async () => {
  const demo = spawn(process.execPath, [...NODE_FLAGS, path.join(REPO, 'scripts', 'demo.ts'), '--keep'], {
    env: { ...process.env, DEMO_TIMEOUT_MS: '90000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  demo.stdout.on('data', (chunk) => (stdout += chunk));
  demo.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => demo.on('exit', (code) => resolve(code)));
  try {
    await waitFor(
      () => stdout.includes('the demo keeps running') || demo.exitCode !== null,
      'the demo to finish its rollout',
      150_000,
    );
    assert.match(stdout, /site-auto\s+ok\s+0 OK\s+1\.0\.0/, `${stdout}\n${stderr}`);
    assert.match(stdout, /site-manual\s+awaiting_approval/);
    assert.match(stdout, /approving site-manual/);
    assert.match(stdout, /site-manual\s+ok\s+0 OK\s+1\.0\.0/);
    assert.match(stdout, /both hosts report ok/);

    const consoleUrl = /the console: {2}(\S+)/.exec(stdout)![1];
    const origin = new URL(consoleUrl).origin;
    const jar = new Map<string, string>();
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const go = async (url: string) => {
      const response = await fetch(url, { redirect: 'manual', headers: { cookie: cookie() } });
      keepCookies(response, jar);
      return response;
    };
    // Sign in with GitHub: the bot sends the browser to the stand-in, which sends it back with a code.
    const toGitHub = await go(`${origin}/console/sign-in/github`);
    assert.ok([302, 303].includes(toGitHub.status), `sign-in answered ${toGitHub.status}`);
    const back = await go(toGitHub.headers.get('location')!);
    assert.equal(back.status, 302);
    const signedIn = await go(back.headers.get('location')!);
    assert.ok(
      [302, 303].includes(signedIn.status),
      `the callback answered ${signedIn.status}: ${await signedIn.text()}`,
    );
    const fleet = await go(`${origin}/console/fleet`);
    assert.equal(fleet.status, 200);
    const page = await fleet.text();
    assert.match(page, /site-auto/);
    assert.match(page, /site-manual/);
    assert.match(page, /octocat/);

    const exported = /export C2F_BOT_URL=(\S+) C2F_ADMIN_TOKEN=(\S+)/.exec(stdout)!;
    const listed = await cli(['rollouts', 'list'], { env: { C2F_BOT_URL: exported[1], C2F_ADMIN_TOKEN: exported[2] } });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /conn2flow-demo\/hello-plugin {2}hello-plugin 1\.0\.0 {2}2 hosts \(2 ok\)/);
  } finally {
    demo.kill('SIGINT');
  }
  assert.equal(await exited, 0, stderr);
});
