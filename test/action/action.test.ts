import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { createHash } from 'node:crypto';
import { readZip } from '../../src/plugin/zip-reader.ts';
import { parseJsonSource } from '../../src/plugin/json-source.ts';
import type { PhpMap } from '../../src/plugin/php-value.ts';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { REPOSITORY, multiPluginRepo, runAction, singlePluginRepo } from './run-action.ts';

const github = new GitHubStandIn();
// dist/action.js is built before the tests (npm test builds dist/ once; dist.test checks it is current).
before(async () => {
  await github.start();
});
after(() => github.stop());
beforeEach(() => {
  github.repos.clear();
  github.requests.length = 0;
  github.faults = {};
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const assetsOf = (tag: string) => github.releases(REPOSITORY).find((r) => r.tagName === tag)!.assets;
function assertCleanContract() {
  assert.deepEqual(github.violations.splice(0), [], "every request and response matches GitHub's OpenAPI description");
}

test('first release: creates the release as a draft, uploads both assets, publishes it', async () => {
  const workspace = await singlePluginRepo();
  const result = await runAction({ workspace, apiUrl: github.url, event: { name: 'push', tag: 'v1.2.3' } });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assertCleanContract();
  const release = github.releases(REPOSITORY).find((r) => r.tagName === 'v1.2.3')!;
  assert.equal(release.draft, false);
  assert.equal(release.name, 'Plugin Full Plugin v1.2.3');
  assert.deepEqual(
    release.assets.map((a) => a.name),
    ['gestor-plugin.zip', 'gestor-plugin.zip.sha256'],
  );
  const [zip, sha] = release.assets;
  assert.equal(sha.content.toString(), `${sha256(zip.content)}\n`);
  assert.equal(result.outputs.sha256, sha256(zip.content));
  assert.equal(result.outputs['plugin-id'], 'full-plugin');
  assert.equal(result.outputs.version, '1.2.3');
  assert.equal(result.outputs['release-id'], String(release.id));
  assert.equal(result.outputs['release-url'], 'https://github.com/conn2flow/plugins/releases/tag/v1.2.3');
  assert.deepEqual(JSON.parse(result.outputs['asset-urls']), [
    'https://github.com/conn2flow/plugins/releases/download/v1.2.3/gestor-plugin.zip',
    'https://github.com/conn2flow/plugins/releases/download/v1.2.3/gestor-plugin.zip.sha256',
  ]);
  assert.equal(JSON.parse(result.outputs.rows)['PaginasData.json'], 9);
  assert.equal(result.outputs.warnings, '4');
  assert.equal(await readFile(result.outputs['zip-path']).then(sha256), sha256(zip.content));
  assert.match(result.summary, /\| SHA-256 \| `[0-9a-f]{64}` \|/);
  assert.match(result.summary, /\| Rows \| LayoutsData\.json 7<br>PaginasData\.json 9/);
  assert.match(
    result.summary,
    /\| Release \| \[v1\.2\.3\]\(https:\/\/github\.com\/conn2flow\/plugins\/releases\/tag\/v1\.2\.3\), created by this run \|/,
  );
  assert.match(
    result.stdout,
    /::warning title=resource-line-endings,file=resources\/pt-br\/layouts\/layout-crlf\/layout-crlf\.html::CRLF/,
  );
  assert.match(result.stdout, /::warning title=modulos-language,file=db\/data\/ModulosData\.json,line=16,col=5::/);
  assert.deepEqual(github.requests.filter((r) => r.startsWith('PATCH')).length, 1, 'published once, after the uploads');
});

test('a re-run replaces same-name assets and succeeds', async () => {
  const workspace = await singlePluginRepo();
  const first = await runAction({ workspace, apiUrl: github.url, event: { name: 'push', tag: 'v1.2.3' } });
  assert.equal(first.code, 0, first.stdout);
  const ids = assetsOf('v1.2.3').map((a) => a.id);
  const second = await runAction({ workspace, apiUrl: github.url, event: { name: 'push', tag: 'v1.2.3' } });
  assert.equal(second.code, 0, second.stdout);
  assertCleanContract();
  const assets = assetsOf('v1.2.3');
  assert.deepEqual(
    assets.map((a) => a.name),
    ['gestor-plugin.zip', 'gestor-plugin.zip.sha256'],
  );
  assert.ok(
    assets.every((a) => !ids.includes(a.id)),
    'both assets were replaced',
  );
  assert.equal(second.outputs.sha256, first.outputs.sha256, 'reproducible: the same bytes again');
  assert.match(second.stdout, /replaced existing gestor-plugin\.zip/);
});

test('an asset that appears between listing and uploading is replaced and the upload retried', async () => {
  const workspace = await singlePluginRepo();
  github.addRelease(REPOSITORY, { tagName: 'v1.2.3' });
  github.faults.raceOnUpload = new Set(['gestor-plugin.zip']);
  const result = await runAction({ workspace, apiUrl: github.url, event: { name: 'release', tag: 'v1.2.3' } });
  assert.equal(result.code, 0, result.stdout);
  assertCleanContract();
  assert.match(result.stdout, /appeared during the upload; replacing it/);
  const zip = assetsOf('v1.2.3').find((a) => a.name === 'gestor-plugin.zip')!;
  assert.equal(sha256(zip.content), result.outputs.sha256);
  assert.equal(assetsOf('v1.2.3').length, 2);
});

test('a missing release fails clearly when the action may not create it', async () => {
  const workspace = await singlePluginRepo();
  const result = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: { 'create-release': 'false' },
  });
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /::error::there is no release for tag v1\.2\.3: create it first, or set "create-release: true"/,
  );
  assertCleanContract();
});

test('an existing draft release gets the assets and stays a draft', async () => {
  const workspace = await singlePluginRepo();
  github.addRelease(REPOSITORY, { tagName: 'v1.2.3', draft: true });
  const result = await runAction({ workspace, apiUrl: github.url, event: { name: 'push', tag: 'v1.2.3' } });
  assert.equal(result.code, 0, result.stdout);
  assertCleanContract();
  const release = github.releases(REPOSITORY).find((r) => r.tagName === 'v1.2.3')!;
  assert.equal(release.draft, true);
  assert.equal(release.assets.length, 2);
  assert.equal(github.releases(REPOSITORY).length, 1, 'no second release was created');
});

test('a published immutable release fails with the draft-first explanation; a release we create works', async () => {
  const workspace = await singlePluginRepo();
  github.addRelease(REPOSITORY, { tagName: 'v1.2.3', immutable: true });
  const refused = await runAction({ workspace, apiUrl: github.url, event: { name: 'release', tag: 'v1.2.3' } });
  assert.equal(refused.code, 1);
  assert.match(
    refused.stdout,
    /::error::release v1\.2\.3 is published and immutable.*creates a draft, uploads, then publishes/,
  );
  assertCleanContract();

  github.repos.clear();
  github.faults.immutableOnPublish = true;
  const created = await runAction({ workspace, apiUrl: github.url, event: { name: 'push', tag: 'v1.2.3' } });
  assert.equal(created.code, 0, created.stdout);
  const release = github.releases(REPOSITORY)[0];
  assert.deepEqual([release.draft, release.immutable, release.assets.length], [false, true, 2]);
  assertCleanContract();
});

test('a 403 names the missing contents: write permission', async () => {
  const workspace = await singlePluginRepo();
  github.faults.forbidWrites = true;
  const result = await runAction({ workspace, apiUrl: github.url, event: { name: 'push', tag: 'v1.2.3' } });
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /::error::GitHub refused to create release v1\.2\.3 \(403: Resource not accessible by integration\): the token needs the "contents: write" permission; add "permissions: contents: write" to the job/,
  );
});

test('a tag whose version differs from manifest.json fails, annotated on manifest.json', async () => {
  const workspace = await singlePluginRepo();
  const result = await runAction({ workspace, apiUrl: github.url, event: { name: 'push', tag: 'v1.2.4' } });
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /::error title=tag-version,file=manifest\.json::tag v1\.2\.4 is version 1\.2\.4 but manifest\.json says 1\.2\.3/,
  );
  assert.equal(github.releases(REPOSITORY).length, 0, 'nothing was released');
  const skipped = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.4' },
    inputs: { 'check-version': 'false' },
  });
  assert.equal(skipped.code, 0, skipped.stdout);
});

test('manifest problems become annotations with file, line and column', async () => {
  const workspace = await singlePluginRepo();
  await writeFile(
    path.join(workspace, 'manifest.json'),
    '{\n    "id": "full-plugin",\n    "nome": "Full",\n    "version": "1.2.3"\n}',
  );
  const result = await runAction({ workspace, apiUrl: github.url, event: { name: 'push', tag: 'v1.2.3' } });
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /::error title=manifest-name,file=manifest\.json,line=1,col=1::missing required field "name"/,
  );
  assert.match(result.stdout, /::warning title=manifest-portuguese-key,file=manifest\.json,line=3,col=5::/);
});

test('a multi-plugin repository: the plugin is found from the tag and environment.json', async () => {
  const workspace = await multiPluginRepo();
  const result = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'release', tag: 'plugin-other-plugin-v0.3.0' },
  });
  assert.equal(result.code, 0, result.stdout);
  assertCleanContract();
  assert.equal(result.outputs['plugin-id'], 'other-plugin');
  assert.match(result.stdout, /plugin folder: other-plugin/);
  const zip = await readZip(result.outputs['zip-path']);
  assert.ok(zip.entries.some((e) => e.name === 'db/data/PaginasData.json'));
  assert.ok(!zip.entries.some((e) => e.name.startsWith('full-plugin/')));
  const unknown = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'release', tag: 'plugin-missing-v1.0.0' },
  });
  assert.equal(unknown.code, 1);
  assert.match(
    unknown.stdout,
    /environment\.json has no plugins\[\] entry with id "missing" \(it has: full-plugin, other-plugin\)/,
  );
});

test("versao counts up over three releases, the previous release's zip as baseline", async () => {
  const workspace = await multiPluginRepo();
  const html = path.join(workspace, 'other-plugin', 'resources', 'en', 'pages', 'hello', 'hello.html');
  const manifest = path.join(workspace, 'other-plugin', 'manifest.json');
  const versaoIn = async (zipPath: string) => {
    const zip = await readZip(zipPath, (n) => n === 'db/data/PaginasData.json');
    const rows = parseJsonSource(zip.contents.get('db/data/PaginasData.json')!.toString('utf8')).php as PhpMap[];
    return rows[0].get('versao');
  };
  const release = async (version: string, content: string) => {
    await writeFile(html, content);
    await writeFile(manifest, JSON.stringify({ id: 'other-plugin', name: 'Other Plugin', version }, null, 4));
    const result = await runAction({
      workspace,
      apiUrl: github.url,
      event: { name: 'push', tag: `plugin-other-plugin-v${version}` },
    });
    assert.equal(result.code, 0, result.stdout);
    return result;
  };
  // An unrelated plugin's newer release must not be taken as the baseline.
  github.addRelease(REPOSITORY, { tagName: 'plugin-full-plugin-v9.0.0' });
  const first = await release('0.3.0', '<h1>one</h1>');
  assert.match(
    first.stdout,
    /versao baseline: the plugin's own db\/data \(no earlier release tagged plugin-other-plugin-v<version>\)/,
  );
  assert.equal(await versaoIn(first.outputs['zip-path']), 1n);
  const second = await release('0.4.0', '<h1>two</h1>');
  assert.match(second.stdout, /versao baseline: gestor-plugin\.zip of release plugin-other-plugin-v0\.3\.0/);
  assert.equal(await versaoIn(second.outputs['zip-path']), 2n);
  const third = await release('0.10.0', '<h1>three</h1>');
  assert.match(
    third.stdout,
    /versao baseline: gestor-plugin\.zip of release plugin-other-plugin-v0\.4\.0/,
    'semver order: 0.4.0 < 0.10.0',
  );
  assert.equal(await versaoIn(third.outputs['zip-path']), 3n);
  const unchanged = await release('0.10.1', '<h1>three</h1>');
  assert.equal(await versaoIn(unchanged.outputs['zip-path']), 3n, 'unchanged content keeps its versao');
  assertCleanContract();
});

test('upload: false packs without a tag or a token', async () => {
  const workspace = await singlePluginRepo();
  const result = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'workflow_dispatch' },
    inputs: { upload: 'false', token: '' },
  });
  assert.equal(result.code, 0, result.stdout);
  assert.match(result.outputs.sha256, /^[0-9a-f]{64}$/);
  assert.equal(github.requests.length, 0, 'GitHub was not called');
});
