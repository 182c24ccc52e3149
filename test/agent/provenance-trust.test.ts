import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import type { WorkflowRun } from '../../dev/sigstore/stand-in.ts';
import { Agent } from '../../src/agent/agent.ts';
import { completeConfig, ConfigError } from '../../src/agent/config.ts';
import { formatPublicKey, generateKey, hashBytes, signHash } from '../../src/plugin/minisign.ts';
import { trustedComment } from '../../src/plugin/package-signature.ts';
import type { Job } from '../../src/protocol/messages.ts';
import { tempDir, waitFor } from '../helpers.ts';
import { FakeBot } from './fake-bot.ts';
import { MANIFEST, packageWith } from './raw-zip.ts';

// A host that requires build provenance for a plugin checks the Sigstore bundle itself, with its own trusted
// root (here the stand-in's, named in its config): built by the pinned repository and workflow, for a tag that
// matches, of the SHA-256 the bytes are then held to. A job whose provenance is missing or does not verify is
// refused before anything is downloaded; every refusal
// is exit 49 with one line, the installer never runs, and the agent keeps serving.

const bot = new FakeBot();
const github = new GitHubStandIn();
const agents: Agent[] = [];
before(async () => {
  await bot.start();
  await github.start();
});
after(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  await bot.stop();
  await github.stop();
});

const REPOSITORY = 'conn2flow/attested-plugin';
const WORKFLOW = '.github/workflows/release.yml';
const RUN: WorkflowRun = { repository: REPOSITORY, workflow: WORKFLOW, ref: 'refs/tags/attested-plugin-v1.0.0' };
const PROVENANCE = { repository: REPOSITORY, workflow: WORKFLOW, tagPattern: 'attested-plugin-v*' };

async function startAgent(publishers: Record<string, unknown>) {
  const dir = await tempDir('c2f-provenance-');
  await writeFile(path.join(dir, 'trusted_root.json'), JSON.stringify(await github.sigstore.trustedRoot()));
  const script = 'echo "$C2F_ACTION $C2F_PLUGIN $C2F_VERSION" >> calls.log';
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
      sigstore: { trustedRoot: 'trusted_root.json', issuer: github.sigstore.issuer },
    },
    path.join(dir, 'c2f-agent.json'),
  );
  const agent = new Agent(config, { log: () => {} });
  agents.push(agent);
  const { url } = await agent.start();
  const calls = async () =>
    (await readFile(path.join(dir, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const run = async (job: Job) => {
    const answer = await bot.push(url!, job);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    return waitFor(
      () => bot.reportsFor(job.jobId).find((r) => r.status === 'ok' || r.status === 'erro'),
      `the final report of ${job.jobId}`,
    );
  };
  return { calls, run };
}

/** A package and its job; `attest` says what the provenance covers (default: these bytes, from RUN). */
async function attestedJob(
  options: {
    pluginId?: string;
    version?: string;
    run?: WorkflowRun | null;
    attestSha256?: string;
    filler?: string;
  } = {},
) {
  const pluginId = options.pluginId ?? 'attested-plugin';
  const version = options.version ?? '1.0.0';
  const zip = packageWith([{ name: 'notes.txt', data: options.filler ?? version }], MANIFEST(pluginId, version));
  const job = await bot.jobFor(zip, { pluginId, version });
  const sha256 = createHash('sha256').update(zip).digest('hex');
  if (options.run !== null)
    job.package.provenance = await github.sigstore.attest(options.attestSha256 ?? sha256, options.run ?? RUN);
  return { job, zip, sha256 };
}

test('a plugin pinned to its build provenance installs only what the pinned workflow built; everything else is refused (49) before the installer', async () => {
  const host = await startAgent({ 'attested-plugin': { provenance: PROVENANCE } });
  const missing = await attestedJob({ run: null });
  const refusals: Array<[string, Job, RegExp]> = [
    ['no provenance', missing.job, /the package has no build provenance/],
    ['other bytes', (await attestedJob({ attestSha256: 'a'.repeat(64) })).job, /attests other bytes/],
    [
      'another repository',
      (await attestedJob({ run: { ...RUN, repository: 'someone/fork' } })).job,
      /built by someone\/fork, not conn2flow\/attested-plugin/,
    ],
    [
      'another workflow',
      (await attestedJob({ run: { ...RUN, workflow: '.github/workflows/ci.yml' } })).job,
      /built by \.github\/workflows\/ci\.yml, not \.github\/workflows\/release\.yml/,
    ],
    [
      'another tag',
      (await attestedJob({ run: { ...RUN, ref: 'refs/tags/v9' } })).job,
      /tag v9, which does not match attested-plugin-v\*/,
    ],
  ];
  const swapped = await attestedJob({ filler: 'the same version, other bytes', run: null });
  swapped.job.package.provenance = (await attestedJob()).job.package.provenance;
  refusals.push(['the provenance of another package', swapped.job, /attests other bytes/]);
  const garbage = await attestedJob();
  garbage.job.package.provenance = '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}';
  refusals.push(['not a bundle', garbage.job, /not a Sigstore bundle/]);

  for (const [what, job, reason] of refusals) {
    const final = await host.run(job);
    assert.deepEqual([final.status, final.exitCode, final.exitLabel], ['erro', 49, 'PUBLISHER_UNVERIFIED'], what);
    assert.match(final.message, /^publisher not verified: .*; nothing was installed$/, what);
    assert.match(final.message, reason, what);
    assert.equal(final.message.includes('\n'), false, what);
  }
  assert.deepEqual(await host.calls(), [], 'the installer never ran');
  for (const [what, job] of refusals.slice(0, 5))
    assert.equal(
      bot.downloads.includes(job.package.url.split('/').pop()!),
      false,
      `${what}: refused before its package is downloaded`,
    );

  const good = await host.run((await attestedJob()).job);
  assert.equal(good.status, 'ok', good.message);
  assert.ok(
    good.logTail.includes(`-- publisher: built by ${REPOSITORY}/${WORKFLOW}@refs/tags/attested-plugin-v1.0.0`),
    good.logTail.join('\n'),
  );
  const older = await attestedJob({ version: '0.9.0', run: { ...RUN, ref: 'refs/tags/attested-plugin-v0.9.0' } });
  const replay = await host.run(older.job);
  assert.equal(replay.exitCode, 49);
  assert.match(replay.message, /0\.9\.0 is older than the 1\.0\.0 this site has/);
  const free = await host.run((await attestedJob({ pluginId: 'free-plugin', run: null })).job);
  assert.equal(free.status, 'ok', 'a plugin the config does not name is not checked');
  assert.deepEqual(await host.calls(), ['install attested-plugin 1.0.0', 'install free-plugin 1.0.0']);
});

test('keys and provenance together: both must hold', async () => {
  const key = generateKey();
  const host = await startAgent({
    'attested-plugin': { keys: [formatPublicKey(key).split('\n')[1]], provenance: PROVENANCE },
  });
  const attestedOnly = await attestedJob();
  const onlyAttested = await host.run(attestedOnly.job);
  assert.equal(onlyAttested.exitCode, 49);
  assert.match(onlyAttested.message, /no publisher signature/);

  const signedOnly = await attestedJob({ run: null });
  signedOnly.job.package.signature = signHash(
    key,
    hashBytes(signedOnly.zip),
    trustedComment({ pluginId: 'attested-plugin', version: '1.0.0', sha256: signedOnly.sha256 }),
  );
  const onlySigned = await host.run(signedOnly.job);
  assert.equal(onlySigned.exitCode, 49);
  assert.match(onlySigned.message, /no build provenance/);

  const both = await attestedJob();
  both.job.package.signature = signHash(
    key,
    hashBytes(both.zip),
    trustedComment({ pluginId: 'attested-plugin', version: '1.0.0', sha256: both.sha256 }),
  );
  const final = await host.run(both.job);
  assert.equal(final.status, 'ok', final.message);
  assert.ok(final.logTail.some((l) => l.startsWith('-- publisher: signed by key')));
  assert.ok(final.logTail.some((l) => l.startsWith('-- publisher: built by')));
});

test('config: provenance needs a repository; a trusted root that cannot be read is named at start', async () => {
  const dir = await tempDir('c2f-provenance-config-');
  const base = {
    hostId: bot.hostId,
    secret: bot.secret,
    botUrl: 'https://bot.example.com',
    installer: { type: 'command', command: ['true'] },
  };
  assert.throws(
    () =>
      completeConfig({ ...base, publishers: { p: { provenance: { workflow: WORKFLOW } } } }, path.join(dir, 'a.json')),
    (e: unknown) => e instanceof ConfigError && /publishers\.p\.provenance: missing "repository"/.test(e.message),
  );
  await writeFile(path.join(dir, 'root.json'), 'not json');
  assert.throws(
    () => completeConfig({ ...base, sigstore: { trustedRoot: 'root.json' } }, path.join(dir, 'b.json')),
    (e: unknown) => e instanceof ConfigError && /sigstore\.trustedRoot: .*root\.json/.test(e.message),
  );
});
