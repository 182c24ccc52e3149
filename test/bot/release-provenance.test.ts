import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { getRelease } from '../../src/bot/store/releases.ts';
import { registryPlugin } from '../../src/bot/read/registry.ts';
import { tempDir } from '../helpers.ts';
import { Fleet } from './fleet.ts';
import { StagedBot } from './staged-rollout-bot.ts';

// The bot reads a release's build provenance before planning it, with its own trusted root (here the stand-in's,
// through C2F_SIGSTORE_TRUSTED_ROOT and C2F_SIGSTORE_ISSUER): a repository that requires it
// (provenance-workflows in its .github/conn2flow-release.yml, or C2F_PROVENANCE_WORKFLOWS, which wins) gets a
// rollout only for a package one of its workflows built; anything else fails the release with its reason and a
// failed check run. Jobs carry the bundle to hosts; the registry shows who built each version.

const github = new GitHubStandIn();
const fleet = new Fleet();
let bot: StagedBot;
const WORKFLOW = '.github/workflows/release.yml';

before(async () => {
  await github.start();
  await fleet.start();
  const dir = await tempDir('c2f-bot-sigstore-');
  const root = path.join(dir, 'trusted_root.json');
  await writeFile(root, JSON.stringify(await github.sigstore.trustedRoot()));
  bot = await StagedBot.create('pglite', github, undefined, {
    C2F_SIGSTORE_TRUSTED_ROOT: root,
    C2F_SIGSTORE_ISSUER: github.sigstore.issuer,
    C2F_PROVENANCE_WORKFLOWS: JSON.stringify({ 'conn2flow/bot-pinned': ['.github/workflows/publish.yml'] }),
  });
  fleet.botUrl = bot.url;
});
after(async () => {
  await bot?.stop();
  await fleet.stop();
  await github.stop();
});

/** The release's assets: build provenance for the zip, as `workflow` of `repository` built it for its tag. */
const attested =
  (repository: string, workflow: string, pluginId: string, version: string, options: { otherBytes?: boolean } = {}) =>
  async (zip: Buffer) => {
    const sha256 = createHash('sha256')
      .update(options.otherBytes ? Buffer.from('other bytes') : zip)
      .digest('hex');
    const bundle = await github.sigstore.attest(sha256, {
      repository,
      workflow,
      ref: `refs/tags/plugin-${pluginId}-v${version}`,
    });
    return [{ name: 'gestor-plugin.zip.sigstore.json', content: Buffer.from(bundle) }];
  };

async function failedWith(releaseId: number): Promise<string> {
  const release = await bot.until('the release to fail', async () => {
    const row = await getRelease(bot.db, releaseId);
    return row?.state === 'failed' && row;
  });
  const run = await bot.until('its failed check run', async () =>
    github.checkRuns.find((r) => r.externalId === `release:${releaseId}` && r.status === 'completed'),
  );
  assert.equal(run.conclusion, 'failure');
  assert.equal((await bot.db.query('select 1 from rollouts where release_id = $1', [releaseId])).length, 0);
  return release.error!;
}

test('a repository that requires provenance: what its workflow built rolls out with the bundle in its jobs; the rest fails with why', {
  timeout: 120_000,
}, async () => {
  const repo = 'conn2flow/attested';
  github.files.set(`${repo}/.github/conn2flow-release.yml`, `provenance-workflows:\n  - ${WORKFLOW}\n`);
  const host = await bot.addHost(fleet, 'attested-host', [`${repo}:attested`]);

  const good = await bot.publish(repo, 'attested', '1.0.0', [], {
    assets: attested(repo, WORKFLOW, 'attested', '1.0.0'),
  });
  const rollout = await bot.rolloutOf(good);
  await bot.until('the job to finish', async () => (await bot.jobs(rollout))[0]?.state === 'ok');
  const job = fleet.jobsOf(host, 'attested')[0];
  assert.equal(JSON.parse(job.package.provenance!).mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
  const [version] = await registryPlugin(bot.db, repo, 'attested');
  assert.deepEqual(version.publisher?.provenance, {
    status: 'verified',
    builtBy: `${repo}/${WORKFLOW}@refs/tags/plugin-attested-v1.0.0`,
  });

  const otherWorkflow = await bot.publish(repo, 'attested', '1.0.1', [], {
    assets: attested(repo, '.github/workflows/ci.yml', 'attested', '1.0.1'),
  });
  assert.match(
    await failedWith(otherWorkflow),
    /^build provenance not verified: gestor-plugin\.zip\.sigstore\.json: the package was built by \.github\/workflows\/ci\.yml, not \.github\/workflows\/release\.yml: nothing is rolled out$/,
  );
  const fork = await bot.publish(repo, 'attested', '1.0.2', [], {
    assets: attested('someone/fork', WORKFLOW, 'attested', '1.0.2'),
  });
  assert.match(await failedWith(fork), /built by someone\/fork, not conn2flow\/attested/);
  const otherBytes = await bot.publish(repo, 'attested', '1.0.3', [], {
    assets: attested(repo, WORKFLOW, 'attested', '1.0.3', { otherBytes: true }),
  });
  assert.match(await failedWith(otherBytes), /attests other bytes/);
  const events = await bot.db.query<{ detail: { reason: string } }>(
    "select detail from events where kind = 'release_unverified' and repository = 'conn2flow/attested' order by id",
  );
  assert.equal(events.length, 3, 'each refusal is an event');
});

test('C2F_PROVENANCE_WORKFLOWS wins over the repository; a release with provenance nobody requires rolls out and shows it', {
  timeout: 120_000,
}, async () => {
  const pinned = 'conn2flow/bot-pinned';
  github.files.set(`${pinned}/.github/conn2flow-release.yml`, `provenance-workflows:\n  - ${WORKFLOW}\n`);
  const byRepositoryList = await bot.publish(pinned, 'pinned', '1.0.0', [], {
    assets: attested(pinned, WORKFLOW, 'pinned', '1.0.0'),
  });
  assert.match(await failedWith(byRepositoryList), /not \.github\/workflows\/publish\.yml/);

  const free = 'conn2flow/free';
  const host = await bot.addHost(fleet, 'free-host', [`${free}:free`]);
  const release = await bot.publish(free, 'free', '1.0.0', [], {
    assets: attested(free, WORKFLOW, 'free', '1.0.0', { otherBytes: true }),
  });
  const rollout = await bot.rolloutOf(release);
  await bot.until('the job to finish', async () => (await bot.jobs(rollout))[0]?.state === 'ok');
  assert.ok(fleet.jobsOf(host, 'free')[0].package.provenance, 'the bundle goes to hosts, which decide');
  const [version] = await registryPlugin(bot.db, free, 'free');
  assert.equal(version.publisher?.provenance?.status, 'unverified');
  assert.match(version.publisher?.provenance?.reason ?? '', /attests other bytes/);
});
