import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { checkProvenance, type SigstoreTrust } from '../../src/plugin/provenance.ts';
import { REPOSITORY, runAction, singlePluginRepo } from './run-action.ts';

// Build provenance from the bundled Action: granted an ID token, it attests the package keyless (GitHub's SLSA
// predicate, a Fulcio certificate for the workflow run, a Rekor entry), stores the attestation through the REST
// API and attaches the Sigstore bundle before the zip. The stand-in plays the runner's token service, a GitHub
// Enterprise Server's OIDC issuer, Fulcio and Rekor; nothing reaches the public Sigstore instances.

const github = new GitHubStandIn();
before(async () => void (await github.start()));
after(() => github.stop());
beforeEach(() => {
  github.repos.clear();
  github.attestations.length = 0;
  github.faults = {};
});

const WORKFLOW = '.github/workflows/release.yml';

function provenanceRun(tag: string) {
  return {
    env: {
      ...github.sigstore.idTokenEnv({ repository: REPOSITORY, workflow: WORKFLOW, ref: `refs/tags/${tag}` }),
      GITHUB_SERVER_URL: github.url,
    },
    inputs: { 'sigstore-fulcio-url': github.sigstore.fulcioUrl, 'sigstore-rekor-url': github.sigstore.rekorUrl },
  };
}

async function trust(): Promise<SigstoreTrust> {
  return {
    trustedRoot: await github.sigstore.trustedRoot(),
    issuer: github.sigstore.issuer,
    serverUrl: 'https://github.com',
  };
}

test('with an ID token, the package is attested: the bundle is stored, attached before the zip, and verifies for this workflow and tag only', async () => {
  const workspace = await singlePluginRepo();
  const run = provenanceRun('v1.2.3');
  const result = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: run.inputs,
    env: run.env,
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(github.violations.splice(0), []);
  const release = github.releases(REPOSITORY).find((r) => r.tagName === 'v1.2.3')!;
  assert.deepEqual(
    release.assets.map((a) => a.name),
    ['gestor-plugin.zip.sigstore.json', 'gestor-plugin.zip', 'gestor-plugin.zip.sha256'],
  );
  assert.equal(github.attestations.length, 1);
  assert.equal(result.outputs['attestation-id'], String(github.attestations[0].id));
  assert.equal(result.outputs['built-by'], `${github.url}/${REPOSITORY}/${WORKFLOW}@refs/tags/v1.2.3`);

  const bundle = release.assets[0].content.toString('utf8');
  assert.deepEqual(JSON.parse(bundle), github.attestations[0].bundle, 'the attached bundle is the stored one');
  const sha256 = createHash('sha256').update(release.assets[1].content).digest('hex');
  const policy = { repository: REPOSITORY, workflow: WORKFLOW, tagPattern: 'v*' };
  const checked = checkProvenance(bundle, sha256, policy, await trust());
  assert.ok(checked.ok, checked.ok ? '' : checked.reason);
  assert.deepEqual(
    { repository: checked.provenance.repository, workflow: checked.provenance.workflow, ref: checked.provenance.ref },
    { repository: REPOSITORY, workflow: WORKFLOW, ref: 'refs/tags/v1.2.3' },
  );
  const statement = JSON.parse(Buffer.from(JSON.parse(bundle).dsseEnvelope.payload, 'base64').toString('utf8')) as {
    predicateType: string;
    predicate: { buildDefinition: { resolvedDependencies: Array<{ uri: string }> } };
  };
  assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
  assert.equal(
    statement.predicate.buildDefinition.resolvedDependencies[0].uri,
    `git+${github.url}/${REPOSITORY}@refs/tags/v1.2.3`,
  );

  const refusals = [
    [checkProvenance(bundle, 'f'.repeat(64), policy, await trust()), /attests other bytes/],
    [
      checkProvenance(bundle, sha256, { ...policy, repository: 'someone/else' }, await trust()),
      /built by conn2flow\/plugins, not someone\/else/,
    ],
    [
      checkProvenance(bundle, sha256, { ...policy, workflow: '.github/workflows/other.yml' }, await trust()),
      /not \.github\/workflows\/other\.yml/,
    ],
    [
      checkProvenance(bundle, sha256, { ...policy, tagPattern: 'plugin-*' }, await trust()),
      /tag v1\.2\.3, which does not match plugin-\*/,
    ],
    [checkProvenance(bundle, sha256, policy), /does not verify/],
  ] as const;
  for (const [answer, reason] of refusals) {
    assert.equal(answer.ok, false);
    assert.match((answer as { reason: string }).reason, reason);
  }
});

test('without attestations: write the bundle is still attached, with a warning that says which permission to grant', async () => {
  github.faults.forbidAttestations = true;
  const workspace = await singlePluginRepo();
  const run = provenanceRun('v1.2.3');
  const result = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: run.inputs,
    env: run.env,
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /::warning title=attestation-not-stored::.*attestations: write/);
  const names = github
    .releases(REPOSITORY)
    .find((r) => r.tagName === 'v1.2.3')!
    .assets.map((a) => a.name);
  assert.deepEqual(names, ['gestor-plugin.zip.sigstore.json', 'gestor-plugin.zip', 'gestor-plugin.zip.sha256']);
  assert.equal(result.outputs['attestation-id'], undefined);
});

test('provenance: true without an ID token fails before packing; auto without one attests nothing', async () => {
  const workspace = await singlePluginRepo();
  const required = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: { provenance: 'true', upload: 'false' },
  });
  assert.notEqual(required.code, 0);
  assert.match(
    required.stdout,
    /::error::input "provenance" is true but this job cannot request an ID token: add "permissions: id-token: write"/,
  );
  assert.doesNotMatch(required.stdout, /zip\.\.\./);
  const auto = await runAction({ workspace, apiUrl: github.url, event: { name: 'push', tag: 'v1.2.3' } });
  assert.equal(auto.code, 0, auto.stdout);
  const names = github
    .releases(REPOSITORY)
    .find((r) => r.tagName === 'v1.2.3')!
    .assets.map((a) => a.name);
  assert.deepEqual(names, ['gestor-plugin.zip', 'gestor-plugin.zip.sha256']);
  assert.equal(github.attestations.length, 0);
});
