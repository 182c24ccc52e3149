import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { bundleBuilt, type BundleBot } from './bundle.ts';
import { ConsoleBrowser, startConsoleBot } from './console-session.ts';

// Malformed input is a 400 with a sentence, never a 500 or a hang: broken percent-escapes in paths, control
// characters and numbers past what the store holds in query parameters, another site's cookie that is not
// valid percent-encoding. Through the bundle bot, on the admin API and the console alike.

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
  const admin = (route: string) => fetch(`${bot.url}/api/admin/${route}`, { headers: { authorization: `Bearer ${bot.adminToken}` }, signal: AbortSignal.timeout(10_000) });
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
    assert.match(((await answer.json()) as { error: string }).error, /percent-encoding|control character|whole number/, route);
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
