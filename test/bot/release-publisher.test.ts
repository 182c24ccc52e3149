import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { signStatement, statementText } from '../../src/plugin/key-statement.ts';
import {
  formatPublicKey,
  generateKey,
  hashBytes,
  keyIdText,
  signHash,
  type SecretKey,
} from '../../src/plugin/minisign.ts';
import { trustedComment } from '../../src/plugin/package-signature.ts';
import { getRelease } from '../../src/bot/store/releases.ts';
import { Fleet } from './fleet.ts';
import { StagedBot } from './staged-rollout-bot.ts';

// The bot reads who signed a release before planning it: a repository that must be signed (publisher-keys in
// its .github/conn2flow-release.yml, or the bot's C2F_PUBLISHER_KEYS for it, which wins) gets a rollout only
// for a package one of its keys signed, for this plugin and version; anything else fails the release with
// its reason and a failed check run. Jobs carry the signature to hosts; the registry shows who signed.

const github = new GitHubStandIn();
const fleet = new Fleet();
const publisher = generateKey();
const successor = generateKey();
const stranger = generateKey();
const line = (key: SecretKey) => formatPublicKey(key).split('\n')[1];
let bot: StagedBot;

before(async () => {
  await github.start();
  await fleet.start();
  bot = await StagedBot.create('pglite', github, undefined, {
    C2F_PUBLISHER_KEYS: JSON.stringify({ 'conn2flow/bot-keys': [line(successor)] }),
  });
  fleet.botUrl = bot.url;
});
after(async () => {
  await bot?.stop();
  await fleet.stop();
  await github.stop();
});

const signed =
  (
    key: SecretKey,
    claims: { pluginId?: string; version?: string } = {},
    extra: Array<{ name: string; content: Buffer }> = [],
  ) =>
  (zip: Buffer) => [
    ...extra,
    {
      name: 'gestor-plugin.zip.minisig',
      content: Buffer.from(
        signHash(
          key,
          hashBytes(zip),
          trustedComment({
            pluginId: claims.pluginId ?? '',
            version: claims.version ?? '',
            sha256: createHash('sha256').update(zip).digest('hex'),
          }),
        ),
      ),
    },
  ];

async function failedWith(releaseId: number): Promise<string> {
  const release = await bot.until('the release to fail', async () => {
    const row = await getRelease(bot.db, releaseId);
    return row?.state === 'failed' && row;
  });
  const run = await bot.until('its failed check run', async () =>
    github.checkRuns.find((r) => r.externalId === `release:${releaseId}` && r.status === 'completed'),
  );
  assert.equal(run.conclusion, 'failure');
  assert.equal(
    (await bot.db.query('select 1 from rollouts where release_id = $1', [releaseId])).length,
    0,
    'no rollout',
  );
  return release.error!;
}

test('a repository that requires keys: a verified release rolls out and its jobs carry the signature; others fail with why', {
  timeout: 120_000,
}, async () => {
  const repo = 'conn2flow/signed';
  github.files.set(`${repo}/.github/conn2flow-release.yml`, `publisher-keys:\n  - ${line(publisher)}\n`);
  const host = await bot.addHost(fleet, 'signed-host', [`${repo}:signed`]);

  const good = await bot.publish(repo, 'signed', '1.0.0', [], {
    assets: signed(publisher, { pluginId: 'signed', version: '1.0.0' }),
  });
  const rollout = await bot.rolloutOf(good);
  await bot.until('the job to finish', async () => (await bot.jobs(rollout))[0]?.state === 'ok');
  const job = fleet.jobsOf(host, 'signed')[0];
  assert.match(
    job.package.signature!,
    /^untrusted comment: .*\n[A-Za-z0-9+/=]+\ntrusted comment: plugin:signed version:1\.0\.0 sha256:/,
  );
  assert.equal(job.package.publisherKey, line(publisher));
  const row = await getRelease(bot.db, good);
  assert.deepEqual([row!.publisher!.status, row!.publisher!.signedBy], ['verified', keyIdText(publisher.keyId)]);

  const byStranger = await bot.publish(repo, 'signed', '1.0.1', [], {
    assets: signed(stranger, { pluginId: 'signed', version: '1.0.1' }),
  });
  assert.match(
    await failedWith(byStranger),
    /^publisher not verified: gestor-plugin\.zip\.minisig: signed by key [0-9A-F]{16}, which is not trusted here: nothing is rolled out$/,
  );
  const otherVersion = await bot.publish(repo, 'signed', '1.0.2', [], {
    assets: signed(publisher, { pluginId: 'signed', version: '1.0.0' }),
  });
  assert.match(await failedWith(otherVersion), /the signature is for signed 1\.0\.0, not signed 1\.0\.2/);

  // A statement signed by a required key adds the key that signed the package (a rotation).
  const statement = statementText({
    type: 'c2f-publisher-keys',
    plugin: 'signed',
    sequence: 1,
    add: [line(successor)],
    retire: [keyIdText(publisher.keyId)],
  });
  const rotation = [
    { name: 'gestor-plugin.keys', content: Buffer.from(statement) },
    { name: 'gestor-plugin.keys.minisig', content: Buffer.from(signStatement(publisher, statement)) },
  ];
  const rotated = await bot.publish(repo, 'signed', '1.1.0', [], {
    assets: signed(successor, { pluginId: 'signed', version: '1.1.0' }, rotation),
  });
  await bot.rolloutOf(rotated);
  await bot.until('the rotated release on the host', async () =>
    fleet.jobsOf(host, 'signed').find((j) => j.plugin.version === '1.1.0'),
  );
  const carried = fleet.jobsOf(host, 'signed').find((j) => j.plugin.version === '1.1.0')!;
  assert.deepEqual(carried.keyStatement, { statement, signature: rotation[1].content.toString() });
  assert.equal(carried.package.publisherKey, line(successor));
  const forged = [
    { name: 'gestor-plugin.keys', content: Buffer.from(statement) },
    { name: 'gestor-plugin.keys.minisig', content: Buffer.from(signStatement(stranger, statement)) },
  ];
  const byForgery = await bot.publish(repo, 'signed', '1.2.0', [], {
    assets: signed(successor, { pluginId: 'signed', version: '1.2.0' }, forged),
  });
  assert.match(
    await failedWith(byForgery),
    /gestor-plugin\.keys: the key statement's signature: signed by key [0-9A-F]{16}, which is not trusted here/,
  );

  const unverified = (await bot.admin('GET', 'events?kind=release_unverified')).body as Array<{
    pluginId: string;
    detail: { tag: string; reason: string };
  }>;
  assert.deepEqual(
    unverified.map((e) => e.detail.tag),
    ['plugin-signed-v1.0.1', 'plugin-signed-v1.0.2', 'plugin-signed-v1.2.0'],
  );
  assert.match(unverified[0].detail.reason, /which is not trusted here/);
  const versions = (await bot.admin('GET', `registry/${repo}/signed`)).body.versions as Array<{
    version: string;
    publisher: unknown;
  }>;
  assert.deepEqual(versions.map((v) => [v.version, v.publisher]).sort(), [
    ['1.0.0', { status: 'verified', signedBy: keyIdText(publisher.keyId), provenance: null }],
    ['1.1.0', { status: 'verified', signedBy: keyIdText(successor.keyId), provenance: null }],
  ]);
});

test('an unsigned release of a repository that requires keys waits for the signature, then fails; the bot setting replaces the repository’s list', {
  timeout: 120_000,
}, async () => {
  const repo = 'conn2flow/bot-keys';
  // The repository's own file names the publisher; the bot's setting for it names the successor and wins.
  github.files.set(`${repo}/.github/conn2flow-release.yml`, `publisher-keys:\n  - ${line(publisher)}\n`);
  const unsigned = await bot.publish(repo, 'guarded', '1.0.0');
  assert.match(
    await failedWith(unsigned),
    /has no gestor-plugin\.zip\.minisig yet \(C2F_PUBLISHER_KEYS for conn2flow\/bot-keys requires one\); gave up waiting/,
  );
  const byFileKey = await bot.publish(repo, 'guarded', '1.0.1', [], {
    assets: signed(publisher, { pluginId: 'guarded', version: '1.0.1' }),
  });
  assert.match(await failedWith(byFileKey), /which is not trusted here/);
  const bySetting = await bot.publish(repo, 'guarded', '1.0.2', [], {
    assets: signed(successor, { pluginId: 'guarded', version: '1.0.2' }),
  });
  await bot.rolloutOf(bySetting);
});

test('a repository that requires nothing: signed releases are shown as not checked, and the signature still reaches hosts', {
  timeout: 60_000,
}, async () => {
  const repo = 'conn2flow/free';
  const host = await bot.addHost(fleet, 'free-host', [`${repo}:free`]);
  const release = await bot.publish(repo, 'free', '1.0.0', [], {
    assets: signed(stranger, { pluginId: 'free', version: '1.0.0' }),
  });
  await bot.rolloutOf(release);
  const job = await bot.until('the job', async () => fleet.jobsOf(host, 'free')[0]);
  assert.ok(job.package.signature);
  assert.equal(job.package.publisherKey, undefined, 'no key the bot verified, none named');
  assert.deepEqual(
    (await bot.admin('GET', `registry/${repo}/free`)).body.versions.map((v: { publisher: unknown }) => v.publisher),
    [{ status: 'unchecked', signedBy: keyIdText(stranger.keyId), provenance: null }],
  );
  const unsigned = await bot.publish(repo, 'free', '1.0.1');
  await bot.rolloutOf(unsigned);
  assert.equal((await getRelease(bot.db, unsigned))!.publisher!.status, 'unsigned');
});
