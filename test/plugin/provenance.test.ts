import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { checkProvenance, globMatches, type SigstoreTrust } from '../../src/plugin/provenance.ts';
import { REPO } from '../helpers.ts';

// Build provenance checked offline: a bundle from the stand-in's Fulcio and Rekor verifies with the stand-in's
// trusted root only for the bytes, repository, workflow and tags it names; everything else is refused with a
// one-line reason (never an exception), including certificates that expired before they were logged, broken
// inclusion proofs, tampered statements, and bundles too large or too deeply nested to read.

const github = new GitHubStandIn();
before(async () => void (await github.start()));
after(() => github.stop());

const REPOSITORY = 'conn2flow/plugin-demo';
const WORKFLOW = '.github/workflows/release.yml';
const RUN = { repository: REPOSITORY, workflow: WORKFLOW, ref: 'refs/tags/plugin-demo-v1.2.0' };
const POLICY = { repository: REPOSITORY, workflow: WORKFLOW, tagPattern: 'plugin-demo-v*' };
const sha256 = createHash('sha256').update('the package bytes').digest('hex');

async function trust(): Promise<SigstoreTrust> {
  return {
    trustedRoot: await github.sigstore.trustedRoot(),
    issuer: github.sigstore.issuer,
    serverUrl: 'https://github.com',
  };
}

function refused(answer: ReturnType<typeof checkProvenance>, reason: RegExp, what: string): void {
  assert.equal(answer.ok, false, what);
  const text = (answer as { reason: string }).reason;
  assert.match(text, reason, what);
  assert.equal(text.includes('\n'), false, `${what}: one line`);
}

test('a bundle verifies for its bytes, repository, workflow and tag, and names who built them', async () => {
  const bundle = await github.sigstore.attest(sha256, RUN);
  const checked = checkProvenance(bundle, sha256, POLICY, await trust());
  assert.ok(checked.ok, checked.ok ? '' : checked.reason);
  assert.equal(checked.provenance.repository, REPOSITORY);
  assert.equal(checked.provenance.workflow, WORKFLOW);
  assert.equal(checked.provenance.ref, 'refs/tags/plugin-demo-v1.2.0');
  assert.ok(checked.provenance.signedAt && Date.parse(checked.provenance.signedAt) <= Date.now());
  assert.ok(checkProvenance(bundle, sha256, { repository: 'Conn2Flow/Plugin-Demo' }, await trust()).ok);
});

test('other bytes, repository, workflow, tag, branch builds and another issuer are refused', async () => {
  const bundle = await github.sigstore.attest(sha256, RUN);
  const t = await trust();
  refused(checkProvenance(bundle, 'a'.repeat(64), POLICY, t), /attests other bytes/, 'digest');
  refused(
    checkProvenance(bundle, sha256, { ...POLICY, repository: 'evil/fork' }, t),
    /built by conn2flow\/plugin-demo, not evil\/fork/,
    'repository',
  );
  refused(
    checkProvenance(bundle, sha256, { ...POLICY, workflow: '.github/workflows/ci.yml' }, t),
    /not \.github\/workflows\/ci\.yml/,
    'workflow',
  );
  refused(checkProvenance(bundle, sha256, { ...POLICY, tagPattern: 'other-v*' }, t), /does not match other-v\*/, 'tag');
  const branch = await github.sigstore.attest(sha256, { ...RUN, ref: 'refs/heads/main' });
  refused(checkProvenance(branch, sha256, POLICY, t), /built from refs\/heads\/main, not from a tag/, 'branch');
  refused(
    checkProvenance(bundle, sha256, POLICY, { ...t, issuer: 'https://token.actions.githubusercontent.com' }),
    /signed for .*_services\/token, not https:\/\/token\.actions\.githubusercontent\.com/,
    'issuer',
  );
  refused(
    checkProvenance(bundle, sha256, POLICY),
    /does not verify/,
    'the public-good root does not know the stand-in',
  );
  refused(checkProvenance(undefined, sha256, POLICY, t), /^the package has no build provenance$/, 'missing');
});

test('expired certificates, broken inclusion proofs and tampered statements do not verify', async () => {
  const t = await trust();
  github.sigstore.caClock = new Date(Date.now() - 3600_000);
  const expired = await github.sigstore.attest(sha256, RUN).finally(() => {
    github.sigstore.caClock = undefined;
  });
  refused(
    checkProvenance(expired, sha256, POLICY, t),
    /does not verify/,
    'a certificate that expired before it was logged',
  );

  const good = JSON.parse(await github.sigstore.attest(sha256, RUN));
  const proof = structuredClone(good);
  const inclusion = proof.verificationMaterial.tlogEntries[0].inclusionProof;
  assert.ok(inclusion?.rootHash, 'the entry carries an inclusion proof');
  inclusion.hashes = [Buffer.alloc(32, 9).toString('base64')];
  refused(checkProvenance(JSON.stringify(proof), sha256, POLICY, t), /does not verify/, 'inclusion proof');
  const checkpoint = structuredClone(good);
  const note = checkpoint.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
  const lines = (note.envelope as string).split('\n');
  lines[2] = Buffer.alloc(32, 7).toString('base64');
  note.envelope = lines.join('\n');
  refused(checkProvenance(JSON.stringify(checkpoint), sha256, POLICY, t), /does not verify/, 'checkpoint');

  const tampered = structuredClone(good);
  const statement = JSON.parse(Buffer.from(tampered.dsseEnvelope.payload, 'base64').toString('utf8'));
  statement.subject[0].digest.sha256 = 'b'.repeat(64);
  tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  refused(checkProvenance(JSON.stringify(tampered), 'b'.repeat(64), POLICY, t), /does not verify/, 'statement');

  const otherBuild = JSON.parse(await github.sigstore.attest('c'.repeat(64), RUN));
  const spliced = { ...good, dsseEnvelope: otherBuild.dsseEnvelope };
  refused(
    checkProvenance(JSON.stringify(spliced), 'c'.repeat(64), POLICY, t),
    /does not verify/,
    'another build’s envelope',
  );
});

test('malformed, truncated, huge and deeply nested bundles are refused with a reason', async () => {
  const t = await trust();
  const good = await github.sigstore.attest(sha256, RUN);
  refused(checkProvenance('not json', sha256, POLICY, t), /is not JSON/, 'not JSON');
  refused(checkProvenance(good.slice(0, good.length / 2), sha256, POLICY, t), /is not JSON/, 'truncated');
  refused(checkProvenance('{"mediaType": "x"}', sha256, POLICY, t), /is not a Sigstore bundle/, 'not a bundle');
  refused(
    checkProvenance(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, sha256, POLICY, t),
    /larger than 64 KiB/,
    'huge',
  );
  refused(
    checkProvenance(`${'['.repeat(40)}${']'.repeat(40)}`, sha256, POLICY, t),
    /nests deeper than 32 levels/,
    'nested',
  );
  const parsed = JSON.parse(good);
  parsed.dsseEnvelope.payloadType = 'text/plain';
  refused(checkProvenance(JSON.stringify(parsed), sha256, POLICY, t), /not an in-toto statement/, 'payload type');
});

test('tag patterns: * matches any run of characters, everything else itself', () => {
  assert.ok(globMatches('plugin-demo-v*', 'plugin-demo-v1.2.0'));
  assert.ok(globMatches('v*.*.*', 'v1.2.3'));
  assert.ok(!globMatches('v1.*', 'v10'));
  assert.ok(!globMatches('plugin-demo-v*', 'plugin-demo-x-v1'.replace('-x', 'x')));
  assert.ok(!globMatches('a.c', 'abc'), 'a dot is a dot');
});

test('the shipped public-good trusted root is the one the Sigstore TUF client ships', async () => {
  const require = createRequire(import.meta.url);
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets: Record<string, string> }>;
  const seeded = JSON.parse(
    Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev'].targets['trusted_root.json'], 'base64').toString('utf8'),
  );
  const shipped = JSON.parse(
    await readFile(path.join(REPO, 'src', 'plugin', 'sigstore', 'public-good-trusted-root.json'), 'utf8'),
  );
  assert.deepEqual(shipped, seeded, 'refresh src/plugin/sigstore/public-good-trusted-root.json from @sigstore/tuf');
});
