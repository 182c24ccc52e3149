import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { completeConfig } from '../../src/agent/config.ts';
import { signStatement, statementText, type KeyStatement } from '../../src/plugin/key-statement.ts';
import {
  formatPublicKey,
  generateKey,
  hashBytes,
  keyIdText,
  signHash,
  type SecretKey,
} from '../../src/plugin/minisign.ts';
import { trustedComment } from '../../src/plugin/package-signature.ts';
import type { Job } from '../../src/protocol/messages.ts';
import { tempDir, waitFor } from '../helpers.ts';
import { FakeBot } from './fake-bot.ts';
import { MANIFEST, packageWith } from './raw-zip.ts';

// A host that checks a plugin's publisher itself: whatever the job says, the package installs only with a
// signature by a key this host trusts, for these bytes, this plugin and this version; refusals are exit 49
// with a one-line reason, the installer never runs, and the agent keeps serving.

const bot = new FakeBot();
const agents: Agent[] = [];
before(async () => void (await bot.start()));
after(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  await bot.stop();
});

const publisher = generateKey();
const successor = generateKey();
const stranger = generateKey();
const line = (key: SecretKey) => formatPublicKey(key).split('\n')[1];

async function startAgent(publishers: Record<string, unknown>) {
  const dir = await tempDir('c2f-trust-');
  const script = 'echo "$C2F_ACTION $C2F_PLUGIN $C2F_VERSION" >> calls.log; echo "installing $C2F_PLUGIN $C2F_VERSION"';
  const config = completeConfig(
    {
      hostId: bot.hostId,
      secret: bot.secret,
      botUrl: bot.url,
      listen: { port: 0 },
      heartbeatSeconds: 3600,
      allowHttpDownloads: true,
      installer: { type: 'command', command: ['/bin/sh', '-c', `cd ${dir} && ${script}`] },
      publishers,
    },
    path.join(dir, 'c2f-agent.json'),
  );
  const agent = new Agent(config, { log: () => {} });
  agents.push(agent);
  const { url } = await agent.start();
  const calls = async () =>
    (await readFile(path.join(dir, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  /** Pushes a job and waits for its final report. */
  const run = async (job: Job) => {
    const answer = await bot.push(url!, job);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    return waitFor(
      () => bot.reportsFor(job.jobId).find((r) => r.status === 'ok' || r.status === 'erro'),
      `the final report of ${job.jobId}`,
    );
  };
  return { agent, url: url!, calls, run };
}

/** A package of `plugin` `version`, its job, and a signature whose trusted comment claims `claims` (default: the truth). */
async function signedJob(
  key: SecretKey | null,
  options: {
    pluginId?: string;
    version?: string;
    claims?: { pluginId?: string; version?: string; sha256?: string };
    action?: Job['action'];
    filler?: string;
  } = {},
) {
  const pluginId = options.pluginId ?? 'signed-plugin';
  const version = options.version ?? '1.0.0';
  const zip = packageWith([{ name: 'notes.txt', data: options.filler ?? version }], MANIFEST(pluginId, version));
  const job = await bot.jobFor(zip, { pluginId, version, action: options.action });
  const sha256 = createHash('sha256').update(zip).digest('hex');
  if (key) {
    const claims = { pluginId, version, sha256, ...options.claims };
    job.package.signature = signHash(key, hashBytes(zip), trustedComment(claims));
  }
  return job;
}

test('a pinned plugin installs only with its publisher’s signature; unsigned, other key, other bytes, other plugin or version are refused (49); others install as before', async () => {
  const host = await startAgent({ 'signed-plugin': { keys: [line(publisher)] } });
  const refusals: Array<[string, Job, RegExp]> = [
    ['unsigned', await signedJob(null), /the package has no publisher signature/],
    [
      'another key',
      await signedJob(stranger),
      new RegExp(`signed by key ${keyIdText(stranger.keyId)}, which is not trusted here`),
    ],
    ['other bytes', await signedJob(publisher, { claims: { sha256: 'a'.repeat(64) } }), /for another package/],
    [
      'another plugin',
      await signedJob(publisher, { claims: { pluginId: 'other-plugin' } }),
      /for other-plugin 1\.0\.0, not signed-plugin 1\.0\.0/,
    ],
    [
      'another version',
      await signedJob(publisher, { claims: { version: '9.9.9' } }),
      /for signed-plugin 9\.9\.9, not signed-plugin 1\.0\.0/,
    ],
  ];
  const otherBytes = await signedJob(publisher);
  const swapped = await signedJob(null, { filler: 'the same version, other bytes' });
  swapped.package.signature = otherBytes.package.signature;
  refusals.push(['a signature of other bytes', swapped, /does not match the file/]);
  for (const [what, job, reason] of refusals) {
    const final = await host.run(job);
    assert.deepEqual([final.status, final.exitCode, final.exitLabel], ['erro', 49, 'PUBLISHER_UNVERIFIED'], what);
    assert.match(final.message, /^publisher not verified: .*; nothing was installed$/, what);
    assert.match(final.message, reason, what);
    assert.equal(final.message.includes('\n'), false);
  }
  assert.deepEqual(await host.calls(), [], 'the installer never ran');
  const unsignedPackage = refusals[0][1].package.url.split('/').pop()!;
  assert.equal(
    bot.downloads.includes(unsignedPackage),
    false,
    'a job without a signature is refused before its package is downloaded',
  );

  const good = await host.run(await signedJob(publisher));
  assert.equal(good.status, 'ok', good.message);
  assert.ok(
    good.logTail.includes(`-- publisher: signed by key ${keyIdText(publisher.keyId)}`),
    good.logTail.join('\n'),
  );
  const unpinned = await host.run(await signedJob(null, { pluginId: 'free-plugin' }));
  assert.equal(unpinned.status, 'ok', 'a plugin the config does not name is not checked');
  assert.deepEqual(await host.calls(), ['install signed-plugin 1.0.0', 'install free-plugin 1.0.0']);
});

test('a replayed old signed release is refused; an operator’s rollback to a version this host had passes', async () => {
  const host = await startAgent({ 'signed-plugin': { keys: [line(publisher)] } });
  const old = await signedJob(publisher, { version: '1.0.0' });
  assert.equal((await host.run(old)).status, 'ok');
  assert.equal((await host.run(await signedJob(publisher, { version: '1.1.0' }))).status, 'ok');
  const replay = await host.run(FakeBot.attempt(old, { jobId: `job_replay_${Date.now()}`, action: 'update' }));
  assert.equal(replay.exitCode, 49);
  assert.match(replay.message, /signed-plugin 1\.0\.0 is older than the 1\.1\.0 this site has/);
  const neverHad = await host.run(await signedJob(publisher, { version: '0.9.0', action: 'rollback' }));
  assert.equal(neverHad.exitCode, 49, 'a rollback to a version this host never had is a downgrade like any other');
  const rollback = await host.run(FakeBot.attempt(old, { jobId: `job_rollback_${Date.now()}`, action: 'rollback' }));
  assert.equal(rollback.status, 'ok', rollback.message);
  assert.equal(rollback.installedVersion, '1.0.0');
});

test('trust on first use pins the first verified key; a job naming another key later is refused', async () => {
  const host = await startAgent({ '*': { trustOnFirstUse: true } });
  const nameless = await signedJob(publisher);
  const refused = await host.run(nameless);
  assert.match(refused.message, /trusts signed-plugin's publisher on first use, but the job names no publisher key/);
  const first = await signedJob(publisher);
  first.package.publisherKey = line(publisher);
  const pinned = await host.run(first);
  assert.equal(pinned.status, 'ok', pinned.message);
  assert.ok(
    pinned.logTail.includes(`-- publisher: key ${keyIdText(publisher.keyId)} pinned for signed-plugin (first use)`),
  );
  const impostor = await signedJob(stranger, { version: '1.1.0' });
  impostor.package.publisherKey = line(stranger);
  const after = await host.run(impostor);
  assert.equal(after.exitCode, 49);
  assert.match(after.message, /which is not trusted here/);
  assert.deepEqual(
    host.agent.journal.db
      .prepare('select plugin_id, key_id, source from publisher_keys')
      .all()
      .map((r) => Object.values(r)),
    [['signed-plugin', keyIdText(publisher.keyId), 'first-use']],
  );
});

test('key statements: one signed by a trusted key rotates the key; forged, replayed, reused or another plugin’s are refused', async () => {
  const host = await startAgent({ 'signed-plugin': { keys: [line(publisher)] } });
  const statement = (fields: Partial<KeyStatement>, signer: SecretKey) => {
    const text = statementText({
      type: 'c2f-publisher-keys',
      plugin: 'signed-plugin',
      sequence: 1,
      add: [],
      retire: [],
      ...fields,
    });
    return { statement: text, signature: signStatement(signer, text) };
  };
  const rotation = statement({ sequence: 2, add: [line(successor)], retire: [keyIdText(publisher.keyId)] }, publisher);

  const forged = await signedJob(successor);
  forged.keyStatement = statement({ sequence: 2, add: [line(successor)] }, stranger);
  assert.match(
    (await host.run(forged)).message,
    /key statement's signature: signed by key [0-9A-F]{16}, which is not trusted here/,
  );
  const foreign = await signedJob(successor);
  foreign.keyStatement = { ...rotation, statement: rotation.statement.replace('"signed-plugin"', '"other-plugin"') };
  assert.match((await host.run(foreign)).message, /key statement is for other-plugin, not signed-plugin/);
  const edited = await signedJob(successor);
  edited.keyStatement = { ...rotation, statement: rotation.statement.replace('"sequence": 2', '"sequence": 3') };
  assert.match(
    (await host.run(edited)).message,
    /key statement's signature: the signature by key .* does not match the file/,
  );

  const rotated = await signedJob(successor);
  rotated.keyStatement = rotation;
  const applied = await host.run(rotated);
  assert.equal(applied.status, 'ok', applied.message);
  assert.ok(applied.logTail.some((l) => /key statement 2 by key [0-9A-F]{16} applied: \+1 key\(s\), -1/.test(l)));

  const byRetired = await host.run(await signedJob(publisher, { version: '1.1.0' }));
  assert.match(
    byRetired.message,
    /which is not trusted here/,
    'the retired key stays retired although the config lists it',
  );
  const replayed = await signedJob(successor, { version: '1.1.0' });
  replayed.keyStatement = statement({ sequence: 1, add: [line(stranger)] }, successor);
  assert.match(
    (await host.run(replayed)).message,
    /key statement \(sequence 1\) is older than the one this host applied \(2\): a replay/,
  );
  const reused = await signedJob(successor, { version: '1.1.0' });
  reused.keyStatement = statement({ sequence: 2, add: [line(stranger)] }, successor);
  assert.match((await host.run(reused)).message, /reuses sequence 2 with other content/);
  const again = await signedJob(successor, { version: '1.1.0' });
  again.keyStatement = rotation;
  assert.equal((await host.run(again)).status, 'ok', 'the statement applied last may come again with every release');
});

test('huge or malformed signature fields are refused at the door (422); the agent keeps serving', async () => {
  const host = await startAgent({ 'signed-plugin': { keys: [line(publisher)] } });
  const huge = await signedJob(publisher);
  huge.package.signature = `${huge.package.signature}${'A'.repeat(5000)}`;
  assert.equal((await bot.push(host.url, huge)).status, 422);
  const badKey = await signedJob(publisher);
  badKey.package.publisherKey = `RW${'!'.repeat(54)}`;
  assert.equal((await bot.push(host.url, badKey)).status, 422);
  const deep = await signedJob(publisher);
  deep.keyStatement = { statement: `${'['.repeat(9000)}${']'.repeat(9000)}`, signature: 'x' };
  assert.equal((await bot.push(host.url, deep)).status, 422);
  const nested = await signedJob(publisher);
  nested.keyStatement = {
    statement: `${'['.repeat(2000)}${']'.repeat(2000)}`,
    signature: huge.package.signature!.slice(0, 400),
  };
  const final = await host.run(nested);
  assert.equal(final.exitCode, 49);
  assert.match(final.message, /the key statement is not one/);
  assert.equal((await host.run(await signedJob(publisher))).status, 'ok');
});
