import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { freshPgliteFolder } from '../bot/databases.ts';
import { botSecrets, bundleBuilt, freePort, type BundleBot } from './bundle.ts';
import { ConsoleBrowser, startConsoleBot } from './console-session.ts';

// Console sessions end when they should, on the server: after a sign-out the old cookie reads nothing and its
// CSRF token does nothing; an OAuth state works once; "sign out everyone" ends every session; a login taken off
// C2F_CONSOLE_USERS is out at once (the bot restarted with the new list). Through the bundle bot.

const github = new GitHubStandIn();
const bots: BundleBot[] = [];
before(async () => {
  await bundleBuilt();
  await github.start();
});
after(async () => {
  for (const bot of bots) await bot.stop().catch(() => {});
  await github.stop();
});

test('sign-out, single-use states, sign out everyone, and a removed login end sessions at once', {
  timeout: 120_000,
}, async () => {
  const port = await freePort();
  const secrets = botSecrets();
  const dataDir = await freshPgliteFolder();
  let bot = await startConsoleBot(github, 'octocat,hubot', { port, secrets, dataDir });
  bots.push(bot);

  // Signed out: the cookie copied before reads nothing, and its CSRF token performs nothing.
  const alice = new ConsoleBrowser(bot.url);
  const callback = await alice.signIn();
  assert.equal((await alice.go('/console/fleet')).status, 200);
  const copied = new ConsoleBrowser(bot.url);
  for (const [name, value] of alice.jar) copied.jar.set(name, value);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await (await alice.go('/console/fleet')).text())![1];
  await alice.post('/console/sign-out', {});
  assert.equal(
    (await copied.go('/console/fleet')).headers.get('location'),
    '/console/sign-in',
    'the old cookie reads nothing',
  );
  const forged = await copied.go('/console/sign-out-everyone', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, confirm: 'yes' }).toString(),
  });
  assert.equal(forged.status, 401, 'nor does its CSRF token');

  // The callback of a sign-in that was used, with its state cookie, takes no second code.
  const replay = new ConsoleBrowser(bot.url);
  replay.jar.set('c2f_console_oauth', new URL(callback).searchParams.get('state')!);
  const again = await replay.go(callback);
  assert.equal(again.status, 400);
  assert.equal(replay.jar.has('c2f_console'), false);

  // Sign out everyone: every session ends, the one that asked too.
  const one = new ConsoleBrowser(bot.url);
  const two = new ConsoleBrowser(bot.url);
  await one.signIn();
  await two.signIn();
  const confirm = await one.post('/console/sign-out-everyone', {});
  assert.match(await confirm.text(), /Sign out everyone, you included\?/);
  await one.post('/console/sign-out-everyone', { confirm: 'yes' });
  for (const browser of [one, two])
    assert.equal((await browser.go('/console/fleet')).headers.get('location'), '/console/sign-in');

  // A login taken off the list is out at once, whatever its cookie says.
  const three = new ConsoleBrowser(bot.url);
  await three.signIn();
  assert.equal((await three.go('/console/fleet')).status, 200);
  await bot.stop();
  bot = await startConsoleBot(github, 'hubot', { port, secrets, dataDir });
  bots.push(bot);
  assert.equal((await three.go('/console/fleet')).headers.get('location'), '/console/sign-in');
});
