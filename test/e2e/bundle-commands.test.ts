import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, tempDir } from '../helpers.ts';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { bundleBuilt, bundleCli, startBundleBot, type BundleBot } from './bundle.ts';

// Every command of the shipped bundle starts and does its job from a folder outside the repository: a module
// or file that dist/ lacks (a worker, a lazily loaded chunk, a schema) fails here. The operator walk-through
// drives the agent and the job actions; this covers the rest of the command table.

const github = new GitHubStandIn();
let bot: BundleBot;

before(async () => {
  await bundleBuilt();
  await github.start();
  bot = await startBundleBot(github);
});
after(async () => {
  await bot?.stop();
  await github.stop();
});

test('every command and action answers --help from the bundle', async () => {
  for (const command of [
    [],
    ['pack'],
    ['verify'],
    ['diff'],
    ['keygen'],
    ['sign'],
    ['keys-statement'],
    ['bot'],
    ['hosts'],
    ['rollouts'],
    ['registry'],
    ['notifications'],
    ['agent'],
  ]) {
    const result = await bundleCli([...command, '--help']);
    assert.equal(result.code, 0, `${command.join(' ')} --help: ${result.stderr}`);
    assert.match(result.stdout, /^Usage: c2f-plugin/, command.join(' '));
  }
});

test('pack, verify and diff run from the bundle, on real packages', async () => {
  const out = await tempDir();
  const packed = await bundleCli(['pack', path.join(FIXTURES, 'plugins', 'full-plugin'), '--out', out, '--quiet']);
  assert.equal(packed.code, 0, packed.stderr);
  const zip = path.join(out, 'gestor-plugin.zip');
  const verified = await bundleCli(['verify', zip, '--json']);
  assert.equal(verified.code, 0, verified.stderr);
  assert.equal(JSON.parse(verified.stdout).ok, true);
  const diffed = await bundleCli(['diff', zip, zip]);
  assert.equal(diffed.code, 0, diffed.stderr);
});

test('hosts and rollouts commands reach a bundle bot; refusals are one line with a non-zero exit', async () => {
  const env = bot.cliEnv;
  const empty = await bundleCli(['hosts', 'list'], env);
  assert.deepEqual(
    [empty.code, empty.stdout.trim()],
    [0, 'no hosts yet: add one with "c2f-plugin hosts add" or "c2f-plugin hosts enroll-token"'],
  );
  const none = await bundleCli(['rollouts', 'list'], env);
  assert.match(none.stdout, /^no rollouts yet/);
  const added = await bundleCli(
    [
      'hosts',
      'add',
      '--name',
      'site\u001b[2J\u009b31m\u202e',
      '--url',
      'https://site.example.com/c2f',
      '--plugin',
      'conn2flow/plugins:p',
      '--json',
    ],
    env,
  );
  assert.equal(added.code, 0, added.stderr);
  const id = JSON.parse(added.stdout).host.id as string;
  const listed = await bundleCli(['hosts', 'list'], env);
  assert.ok(
    listed.stdout.includes(`${id}  site\\u001b[2J\\u009b31m\\u202e  auto/stable`),
    `control characters are shown escaped: ${JSON.stringify(listed.stdout)}`,
  );
  const shown = await bundleCli(['hosts', 'show', id], env);
  assert.doesNotMatch(shown.stdout, /[\u009b\u202e]/, 'no C1 or bidi control reaches the terminal');
  assert.deepEqual(shown.stdout.split('\n').slice(0, 2), [
    `${id}  site\\u001b[2J\\u009b31m\\u202e  auto/stable`,
    '  address: https://site.example.com/c2f',
  ]);
  assert.match(shown.stdout, /^ {2}follows: conn2flow\/plugins:p$/m);
  assert.match(shown.stdout, /^ {2}installed: none$/m);
  const json = await bundleCli(['hosts', 'show', id, '--json'], env);
  assert.equal(JSON.parse(json.stdout).name, 'site\u001b[2J\u009b31m\u202e', 'the JSON is the same value');
  const updated = await bundleCli(['hosts', 'update', id, '--policy', 'manual', '--label', 'canary'], env);
  assert.equal(updated.code, 0, updated.stderr);
  assert.match(updated.stdout, new RegExp(`^updated ${id}: labels, policy\n${id}  .*  manual/stable\n`));
  assert.match(updated.stdout, /^ {2}labels: canary$/m);
  for (const args of [
    ['hosts', 'rotate-secret', id],
    ['rollouts', 'events'],
  ]) {
    const result = await bundleCli(args, env);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
  }
  const removed = await bundleCli(['hosts', 'remove', id], env);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, new RegExp(`^removed host ${id}: `));
  const missing = await bundleCli(['rollouts', 'show', 'ro_missing'], env);
  assert.deepEqual([missing.code, missing.stderr.trim()], [1, 'c2f-plugin rollouts: no rollout ro_missing']);
  const uninstall = await bundleCli(['hosts', 'uninstall', id, '--plugin', 'p'], env);
  assert.deepEqual([uninstall.code, uninstall.stderr.trim()], [1, `c2f-plugin hosts: no host ${id}`]);
});

test('agent status reads a journal from the bundle (node:sqlite), and a bad config is one line', async () => {
  const dir = await tempDir();
  const config = path.join(dir, 'c2f-agent.json');
  await writeFile(
    config,
    JSON.stringify({
      hostId: 'host_1',
      secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
      botUrl: bot.url,
      installer: { type: 'command', command: ['/bin/true'] },
    }),
  );
  const status = await bundleCli(['agent', 'status', '--config', config]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /Installed plugins:\n {2}\(none installed by this agent\)/);
  await writeFile(config, '{"hostId": 1}');
  const bad = await bundleCli(['agent', 'status', '--config', config]);
  assert.equal(bad.code, 78);
  assert.match(bad.stderr, /is not a valid agent config/);
});

test('a console that is not set up says what is missing; its pages are sent with a strict Content-Security-Policy', async () => {
  const page = await fetch(`${bot.url}/console/fleet`);
  assert.equal(page.status, 503);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.match(
    await page.text(),
    /The console is off: GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET \(the App&#39;s OAuth client\) are not set; nobody may enter: set C2F_CONSOLE_USERS/,
  );
  const script = await fetch(`${bot.url}/console/assets/console.js`);
  assert.deepEqual([script.status, script.headers.get('content-type')], [200, 'text/javascript; charset=utf-8']);
  assert.match(await script.text(), /EventSource/);
});
