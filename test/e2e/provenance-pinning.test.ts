import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
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

// Build provenance, end to end from the shipped artifacts: the bundle bot requires it for the repository
// (C2F_PROVENANCE_WORKFLOWS) and prints the --provenance flag in enroll-token's command; the agent executable,
// enrolled with that flag, checks each package's Sigstore bundle with its own trusted root. Whoever holds the
// bot's database then points the job at another package, attested by a workflow of another repository: the
// pinned host refuses it (49) and keeps what it had; the host that does not pin installs it.

const REPO = 'conn2flow/attested-plugins';
const PLUGIN = 'demo-plugin';
const WORKFLOW = '.github/workflows/release.yml';
const github = new GitHubStandIn();
const agents: BundleAgent[] = [];
let bot: BundleBot;
let databaseUrl: string;
let trustedRoot: string;

before(async () => {
  await bundleBuilt();
  await github.start();
  trustedRoot = path.join(await tempDir('c2f-sigstore-root-'), 'trusted_root.json');
  await writeFile(trustedRoot, JSON.stringify(await github.sigstore.trustedRoot()));
  databaseUrl = await freshPostgresUrl();
  bot = await startBundleBot(github, {
    databaseUrl,
    env: {
      C2F_PROVENANCE_WORKFLOWS: JSON.stringify({ [REPO]: [WORKFLOW] }),
      C2F_SIGSTORE_TRUSTED_ROOT: trustedRoot,
      C2F_SIGSTORE_ISSUER: github.sigstore.issuer,
    },
  });
});
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await bot?.stop();
  await github.stop();
});

test('the bot database points a job at a package another repository built: the host pinning provenance refuses it, the other installs it', {
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
    const flag = `--provenance ${PLUGIN}=${REPO}:${WORKFLOW}`;
    assert.ok(agentCommand.endsWith(` ${flag}`), agentCommand);
    const dir = await tempDir(`c2f-${name}-`);
    const configFile = path.join(dir, 'c2f-agent.json');
    const installs = path.join(dir, 'installs.log');
    const args = ['enroll', '--bot', bot.url, '--token', token, '--config', configFile, '--allow-http-downloads'];
    args.push('--installer-command', `sha256sum "$C2F_ZIP" | cut -c1-64 >> ${installs}`);
    if (pin) args.push(...flag.split(' '));
    const enrolled = await runAgent(program, args);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    assert.deepEqual(
      config.publishers,
      pin
        ? { [PLUGIN]: { keys: [], trustOnFirstUse: false, provenance: { repository: REPO, workflow: WORKFLOW } } }
        : undefined,
    );
    // This host's Sigstore is the stand-in's (a private instance): its trusted root and issuer.
    const sigstore = { trustedRoot, issuer: github.sigstore.issuer };
    await writeFile(configFile, JSON.stringify({ ...config, pollSeconds: 2, sigstore }, null, 2));
    agents.push(await startBundleAgent(configFile, program));
    const hostId = (await cli('hosts', 'list')).find((h: { name: string }) => h.name === name).id as string;
    return {
      hostId,
      installs: async () => (await readFile(installs, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean),
    };
  }
  const pinned = await enroll('attested-site', await executableAgent(), true);
  const open = await enroll('open-site', BUNDLE_AGENT, false);

  const tag = `plugin-${PLUGIN}-v1.0.0`;
  const good = packageWith([{ name: 'notes.txt', data: 'the workflow built this' }], MANIFEST(PLUGIN, '1.0.0'));
  const goodSha = createHash('sha256').update(good).digest('hex');
  const bundle = await github.sigstore.attest(goodSha, {
    repository: REPO,
    workflow: WORKFLOW,
    ref: `refs/tags/${tag}`,
  });
  const { release: published, webhook } = await github.publishRelease(
    { url: `${bot.url}/api/github/webhooks`, secret: bot.webhookSecret },
    REPO,
    { tagName: tag, zip: good, assets: [{ name: 'gestor-plugin.zip.sigstore.json', content: Buffer.from(bundle) }] },
    { privateRepository: true },
  );
  assert.equal(webhook.status, 200);
  const rolloutId = await waitFor(
    async () =>
      (await cli('rollouts', 'list')).rollouts?.find((r: { releaseId: number }) => r.releaseId === published.id)?.id as
        | string
        | undefined,
    'the rollout',
    90_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; the bot said:\n${bot.output().slice(-4000)}`);
  });
  const jobsOf = async () =>
    (await cli('rollouts', 'show', rolloutId)).jobs as Array<{
      hostId: string;
      state: string;
      exitCode: number | null;
      message: string | null;
    }>;
  await waitFor(async () => (await jobsOf()).every((j) => j.state === 'ok'), 'both hosts to install', 60_000);
  assert.deepEqual([await pinned.installs(), await open.installs()], [[goodSha], [goodSha]]);
  const registry = await cli('registry', REPO, PLUGIN);
  assert.deepEqual(registry.versions[0].publisher.provenance, {
    status: 'verified',
    builtBy: `${REPO}/${WORKFLOW}@refs/tags/${tag}`,
  });
  const text = await bundleCli(['registry', REPO, PLUGIN], bot.cliEnv);
  assert.match(
    text.stdout,
    new RegExp(`\n  provenance: built by ${REPO}/${WORKFLOW.replaceAll('.', '\\.')}@refs/tags/${tag}, verified\n`),
  );
  const checks = await waitFor(
    async () => (await cli('hosts', 'show', pinned.hostId)).publishers,
    'the pinned host to say what it checks',
    30_000,
  );
  assert.deepEqual(checks, {
    [PLUGIN]: { keyIds: [], trustOnFirstUse: false, provenance: { repository: REPO, workflow: WORKFLOW } },
  });

  // Someone with the bot's database (and a GitHub token that can upload an asset) swaps the package and its
  // provenance for one their own repository's workflow attested.
  const evil = packageWith([{ name: 'evil.php', data: '<?php system($_GET["c"]);' }], MANIFEST(PLUGIN, '1.0.0'));
  const evilSha = createHash('sha256').update(evil).digest('hex');
  const evilBundle = await github.sigstore.attest(evilSha, {
    repository: 'attacker/plugins',
    workflow: WORKFLOW,
    ref: `refs/tags/${tag}`,
  });
  const planted = github.addRelease(REPO, { tagName: 'unrelated' }, [
    { name: 'gestor-plugin.zip', content: evil, contentType: 'application/zip' },
  ]);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `update releases set zip_asset_id = $2, zip_sha256 = $3, zip_size = $4,
         publisher = jsonb_set(publisher, '{provenance}', jsonb_build_object('bundle', $5::text, 'status', 'verified', 'builtBy', null))
       where id = $1`,
      [published.id, planted.assets[0].id, evilSha, evil.length, evilBundle],
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
  assert.deepEqual([pinnedJob.state, pinnedJob.exitCode], ['failed', 49]);
  assert.match(
    pinnedJob.message!,
    /^publisher not verified: the package was built by attacker\/plugins, not conn2flow\/attested-plugins; nothing was installed$/,
  );
  assert.equal(finished.find((j) => j.hostId === open.hostId)!.state, 'ok');
  assert.deepEqual(
    await pinned.installs(),
    [goodSha],
    'the pinned host never ran its installer on the swapped package',
  );
  assert.deepEqual(await open.installs(), [goodSha, evilSha], 'the host that does not pin installed what the bot sent');
});
