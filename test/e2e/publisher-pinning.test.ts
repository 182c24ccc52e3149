import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import {
  formatPublicKey,
  generateKey,
  hashBytes,
  keyIdText,
  signHash,
  type SecretKey,
} from '../../src/plugin/minisign.ts';
import { trustedComment } from '../../src/plugin/package-signature.ts';
import { MANIFEST, packageWith } from '../agent/raw-zip.ts';
import { freshPostgresUrl } from '../bot/databases.ts';
import { tempDir, waitFor } from '../helpers.ts';
import {
  BUNDLE_AGENT,
  bundleBuilt,
  bundleCli,
  executableAgent,
  runAgent,
  startBundleAgent,
  startBundleBot,
  type AgentProgram,
  type BundleAgent,
  type BundleBot,
} from './bundle.ts';

// Whoever holds the bot's database can make the bot send any package, signed with each host's secret. A host
// that pins the plugin's publisher (at enrollment, with the flag enroll-token prints) checks the package
// itself: it refuses the swapped package (exit 49) and keeps what it had; a host that does not pin installs
// it. The bot from the bundle on PostgreSQL; the pinned host is the agent executable, the other the bundle's.

const REPO = 'conn2flow/pinned-plugins';
const PLUGIN = 'demo-plugin';
const github = new GitHubStandIn();
const publisher = generateKey();
const attacker = generateKey();
const keyLine = (key: SecretKey) => formatPublicKey(key).split('\n')[1];
const agents: BundleAgent[] = [];
let bot: BundleBot;
let databaseUrl: string;

before(async () => {
  await bundleBuilt();
  await github.start();
  databaseUrl = await freshPostgresUrl();
  bot = await startBundleBot(github, {
    databaseUrl,
    env: { C2F_PUBLISHER_KEYS: JSON.stringify({ [REPO]: [keyLine(publisher)] }) },
  });
});
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await bot?.stop();
  await github.stop();
});

function signed(zip: Buffer, key: SecretKey): string {
  return signHash(
    key,
    hashBytes(zip),
    trustedComment({ pluginId: PLUGIN, version: '1.0.0', sha256: createHash('sha256').update(zip).digest('hex') }),
  );
}

test('the bot database points a job at another package: the pinned host refuses it, the unpinned host installs it', {
  timeout: 180_000,
}, async () => {
  const cli = async (...args: string[]) => {
    const result = await bundleCli([...args, '--json'], bot.cliEnv);
    assert.equal(result.code, 0, `c2f-plugin ${args.join(' ')}: ${result.stderr}${result.stdout}`);
    return JSON.parse(result.stdout);
  };
  async function enroll(name: string, program: AgentProgram, pin: boolean) {
    const { token, agentCommand } = await cli(
      'hosts',
      'enroll-token',
      '--name',
      name,
      '--plugin',
      `${REPO}:${PLUGIN}`,
      '--allow-private-network',
    );
    // What the operator is told to run names the publisher's key the bot is configured with.
    assert.ok(agentCommand.endsWith(` --publisher ${PLUGIN}=${keyLine(publisher)}`), agentCommand);
    const dir = await tempDir(`c2f-${name}-`);
    const configFile = path.join(dir, 'c2f-agent.json');
    const installs = path.join(dir, 'installs.log');
    const args = ['enroll', '--bot', bot.url, '--token', token, '--config', configFile, '--allow-http-downloads'];
    args.push('--installer-command', `sha256sum "$C2F_ZIP" | cut -c1-64 >> ${installs}`);
    if (pin) args.push('--publisher', `${PLUGIN}=${keyLine(publisher)}`);
    const enrolled = await runAgent(program, args);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    assert.deepEqual(
      config.publishers,
      pin ? { [PLUGIN]: { keys: [keyLine(publisher)], trustOnFirstUse: false } } : undefined,
    );
    await writeFile(configFile, JSON.stringify({ ...config, pollSeconds: 2 }, null, 2));
    agents.push(await startBundleAgent(configFile, program));
    const hostId = (await cli('hosts', 'list')).find((h: { name: string }) => h.name === name).id as string;
    return {
      hostId,
      installs: async () => (await readFile(installs, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean),
    };
  }
  const pinned = await enroll('pinned-site', await executableAgent(), true);
  const open = await enroll('open-site', BUNDLE_AGENT, false);

  const good = packageWith([{ name: 'notes.txt', data: 'the publisher built this' }], MANIFEST(PLUGIN, '1.0.0'));
  const goodSha = createHash('sha256').update(good).digest('hex');
  const { release: published, webhook } = await github.publishRelease(
    { url: `${bot.url}/api/github/webhooks`, secret: bot.webhookSecret },
    REPO,
    {
      tagName: `plugin-${PLUGIN}-v1.0.0`,
      zip: good,
      assets: [{ name: 'gestor-plugin.zip.minisig', content: Buffer.from(signed(good, publisher)) }],
    },
    { privateRepository: true },
  );
  assert.equal(webhook.status, 200);
  const rolloutId = await waitFor(
    async () =>
      (await cli('rollouts', 'list')).rollouts?.find((r: { releaseId: number }) => r.releaseId === published.id)?.id as
        | string
        | undefined,
    'the rollout',
  );
  const jobsOf = async () =>
    (await cli('rollouts', 'show', rolloutId)).jobs as Array<{
      id: string;
      hostId: string;
      state: string;
      exitCode: number | null;
      message: string | null;
    }>;
  await waitFor(
    async () => (await jobsOf()).every((j) => j.state === 'ok'),
    'both hosts to install the signed package',
    60_000,
  );
  assert.deepEqual([await pinned.installs(), await open.installs()], [[goodSha], [goodSha]]);
  const checks = await waitFor(
    async () => (await cli('hosts', 'show', pinned.hostId)).publishers,
    'the pinned host to say what it checks',
    30_000,
  );
  assert.deepEqual(checks, { [PLUGIN]: { keyIds: [keyIdText(publisher.keyId)], trustOnFirstUse: false } });
  assert.equal((await cli('hosts', 'show', open.hostId)).publishers, null);

  // Someone with the bot's database (and a GitHub token that can upload an asset) swaps the package.
  const evil = packageWith([{ name: 'evil.php', data: '<?php system($_GET["c"]);' }], MANIFEST(PLUGIN, '1.0.0'));
  const evilSha = createHash('sha256').update(evil).digest('hex');
  const planted = github.addRelease(REPO, { tagName: 'unrelated' }, [
    { name: 'gestor-plugin.zip', content: evil, contentType: 'application/zip' },
  ]);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `update releases set zip_asset_id = $2, zip_sha256 = $3, zip_size = $4,
         publisher = jsonb_build_object('status', 'verified', 'signedBy', null, 'signature', $5::text, 'publisherKey', $6::text, 'keyStatement', null)
       where id = $1`,
      [published.id, planted.assets[0].id, evilSha, evil.length, signed(evil, attacker), keyLine(attacker)],
    );
  } finally {
    await client.end();
  }
  await cli('rollouts', 'force', rolloutId, '--host', pinned.hostId, '--host', open.hostId);
  const finished = await waitFor(
    async () => {
      const jobs = await jobsOf();
      return (
        jobs.every((j) => j.state === 'ok' || j.state === 'failed') && jobs.some((j) => j.state === 'failed') && jobs
      );
    },
    'the forced jobs to finish',
    60_000,
  );
  const pinnedJob = finished.find((j) => j.hostId === pinned.hostId)!;
  assert.equal(pinnedJob.state, 'failed');
  assert.equal(pinnedJob.exitCode, 49);
  assert.match(
    pinnedJob.message!,
    /^publisher not verified: signed by key [0-9A-F]{16}, which is not trusted here; nothing was installed$/,
  );
  assert.equal(finished.find((j) => j.hostId === open.hostId)!.state, 'ok');
  assert.deepEqual(
    await pinned.installs(),
    [goodSha],
    'the pinned host never ran its installer on the swapped package',
  );
  assert.deepEqual(await open.installs(), [goodSha, evilSha], 'the host that does not pin installed what the bot sent');
  const events = await cli('rollouts', 'events', '--host', pinned.hostId);
  assert.ok(
    (events.events ?? events).some(
      (e: { kind: string; detail?: unknown }) =>
        e.kind === 'publisher_unverified' && JSON.stringify(e).includes('publisher not verified'),
    ),
    JSON.stringify(events),
  );
});
