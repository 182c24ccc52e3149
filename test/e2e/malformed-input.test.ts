import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { waitFor } from '../helpers.ts';
import { bundleBuilt, freePort, type BundleBot } from './bundle.ts';
import { ConsoleBrowser, startConsoleBot } from './console-session.ts';

// The edges of the bundle bot. Malformed input is a 400 with a sentence, never a 500 or a hang: broken
// percent-escapes in paths, control characters and numbers past what the store holds in query parameters,
// another site's cookie that is not valid percent-encoding. Every console response carries its security
// headers (HSTS over https, forms posted only to the console); a session holds at most ten live pages; wrong
// admin tokens from one address are refused after twenty a minute.

const github = new GitHubStandIn();
let bot: BundleBot;
before(async () => {
  await bundleBuilt();
  await github.start();
  bot = await startConsoleBot(github);
});
after(async () => {
  await bot?.stop();
  await github.stop();
});

test('the admin API answers 400 to malformed paths and parameters, and exports with bad filters end at once', async () => {
  const admin = (route: string) =>
    fetch(`${bot.url}/api/admin/${route}`, {
      headers: { authorization: `Bearer ${bot.adminToken}` },
      signal: AbortSignal.timeout(10_000),
    });
  for (const route of [
    'hosts/%00',
    'hosts/%E0%A4%A',
    'events?limit=-5',
    'events?limit=1e3',
    'fleet?page=1e20',
    'events?after=99999999999999999999',
    'events?format=jsonl&host=%00',
    'fleet?q=%01',
  ]) {
    const answer = await admin(route);
    assert.equal(answer.status, 400, `${route}: ${answer.status}`);
    assert.match(
      ((await answer.json()) as { error: string }).error,
      /percent-encoding|control character|whole number/,
      route,
    );
  }
  assert.equal((await admin('events?limit=5')).status, 200);
});

test('the console answers 400 to malformed addresses, and a foreign cookie that is not percent-encoding breaks nothing', async () => {
  const browser = new ConsoleBrowser(bot.url);
  browser.jar.set('tracking', '50%off');
  const signInPage = await browser.go('/console/sign-in');
  assert.equal(signInPage.status, 200);
  await browser.signIn();
  assert.equal((await browser.go('/console/fleet')).status, 200, 'signed in, with the foreign cookie still there');
  for (const route of [
    '/console/hosts/%E0%A4%A',
    '/console/fleet?page=1e20',
    '/console/events?after=99999999999999999999',
    '/console/fleet?q=%00',
    '/console/events.csv?plugin=%00',
  ]) {
    const answer = await browser.go(route, { signal: AbortSignal.timeout(10_000) });
    assert.equal(answer.status, 400, `${route}: ${answer.status}`);
    assert.match(await answer.text(), /That address is not one the console understands/);
  }
});

test('every console response carries the security headers, HSTS when served over https; forms go only to the console', async () => {
  const port = await freePort();
  const https = await startConsoleBot(github, 'octocat', { port, env: { C2F_BOT_URL: `https://127.0.0.1:${port}` } });
  try {
    for (const route of [
      '/console',
      '/console/sign-in',
      '/console/assets/console.css',
      '/console/assets/console.js',
      '/console/fleet',
    ]) {
      const answer = await fetch(`http://127.0.0.1:${port}${route}`, { redirect: 'manual' });
      const csp = answer.headers.get('content-security-policy') ?? '';
      assert.match(csp, /form-action 'self';/, route);
      assert.doesNotMatch(csp, /form-action[^;]*https?:/, route);
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', route);
      assert.equal(answer.headers.get('strict-transport-security'), 'max-age=31536000', route);
    }
    assert.equal(
      (await fetch(`${bot.url}/console/sign-in`)).headers.get('strict-transport-security'),
      null,
      'not over plain http',
    );
  } finally {
    await https.stop();
  }
});

test('a session holds at most ten live pages at once', async () => {
  const browser = new ConsoleBrowser(bot.url);
  await browser.signIn();
  const controllers = Array.from({ length: 11 }, () => new AbortController());
  try {
    const answers = [];
    for (const controller of controllers)
      answers.push(await browser.go('/console/rollouts/ro_none/stream', { signal: controller.signal }));
    assert.deepEqual(
      answers.map((a) => a.status),
      [...Array(10).fill(200), 429],
    );
  } finally {
    for (const controller of controllers) controller.abort();
  }
});

test('wrong admin tokens from one address: after twenty in a minute, that address is refused (429) whatever it sends', async () => {
  const attempt = (token: string) =>
    fetch(`${bot.url}/api/admin/hosts`, { headers: { authorization: `Bearer ${token}` } });
  for (let i = 0; i < 20; i++) assert.equal((await attempt(`wrong-${i}`)).status, 401);
  const refused = await attempt('wrong-again');
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  assert.equal((await attempt(bot.adminToken)).status, 429, 'until the minute ends, even the right token');
  // The bot logs it as it answers: the line may reach this process just after the answer does.
  await waitFor(
    () => /wrong admin tokens: refusing this address for a minute/.test(bot.output()),
    'the bot to log that it refuses the address',
  );
  assert.doesNotMatch(bot.output(), /wrong-1/, 'tokens are never logged');
});
