import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError, parseBoolean, parseSizeInput, readInputs } from '../../src/action/inputs.ts';
import { parsePluginTag } from '../../src/plugin/release-tag.ts';
import { compareVersions } from '../../src/versions.ts';

test('release tags: plugin-<id>-v<version> and v<version>', () => {
  assert.deepEqual(parsePluginTag('plugin-test-plugin-public-v0.1.9'), {
    pluginId: 'test-plugin-public',
    version: '0.1.9',
    prefix: 'plugin-test-plugin-public-v',
  });
  assert.deepEqual(parsePluginTag('v1.2.3'), { version: '1.2.3', prefix: 'v' });
  assert.deepEqual(parsePluginTag('1.2.3'), { version: '1.2.3', prefix: '' });
  assert.deepEqual(parsePluginTag('plugin-x-v1.0.0-beta.1'), {
    pluginId: 'x',
    version: '1.0.0-beta.1',
    prefix: 'plugin-x-v',
  });
  assert.equal(parsePluginTag('release-2024'), undefined);
  assert.equal(parsePluginTag('gestor-v2.9.43')?.pluginId, undefined, 'core tags are not plugin tags');
});

test('versions compare the semver way, not as text or digits', () => {
  assert.equal(
    compareVersions('0.1.10', '0.1.9'),
    1,
    "Conn2Flow's versao would call these 110 and 19; and 1.1.0 is 110 too",
  );
  assert.equal(compareVersions('1.1.0', '0.1.10'), 1);
  assert.equal(compareVersions('1.0.0', '1.0.0-rc.1'), 1);
  assert.equal(compareVersions('1.0.0-rc.2', '1.0.0-rc.10'), -1);
  assert.equal(compareVersions('2.0.0', '2.0.0'), 0);
  assert.equal(compareVersions('x', '1.0.0'), undefined);
});

test('inputs: defaults, booleans, sizes and multi-line lists', () => {
  const inputs = readInputs(
    (name) =>
      (({ allow: 'a/.env.example\n\n  b/*.pem  ', 'max-file-size': '50M', upload: 'false' }) as Record<string, string>)[
        name
      ] ?? '',
    'v1.0.0',
    '/tmp/out',
  );
  assert.deepEqual(inputs, {
    path: '',
    environmentFile: 'environment.json',
    tag: 'v1.0.0',
    checkVersion: true,
    baseline: 'previous-release',
    upload: false,
    overwrite: true,
    createRelease: true,
    draft: false,
    prerelease: false,
    maxFileSize: 50 * 1024 * 1024,
    maxTotalSize: undefined,
    allow: ['a/.env.example', 'b/*.pem'],
    token: '',
    outDir: '/tmp/out',
    signingKey: '',
    signingPassword: '',
    keyStatement: '',
    provenance: 'auto',
    fulcioUrl: '',
    rekorUrl: '',
  });
  assert.equal(parseBoolean('draft', 'Yes', false), true);
  const only = (values: Record<string, string>) => readInputs((name) => values[name] ?? '', '', '/o');
  assert.equal(only({ provenance: 'false' }).provenance, false);
  assert.equal(only({ provenance: 'true' }).provenance, true);
  assert.throws(() => only({ provenance: 'sometimes' }), /input "provenance" must be auto, true or false/);
  assert.equal(only({ 'sigstore-fulcio-url': 'https://fulcio.example.com/' }).fulcioUrl, 'https://fulcio.example.com');
  assert.throws(() => only({ 'sigstore-rekor-url': 'rekor' }), /input "sigstore-rekor-url" must be an http\(s\) URL/);
  assert.throws(
    () => only({ 'sigstore-rekor-url': 'https://rekor.example.com' }),
    /input "sigstore-rekor-url" goes with "sigstore-fulcio-url"/,
  );
  assert.throws(
    () => parseBoolean('draft', 'maybe', false),
    (e: unknown) => e instanceof InputError && /input "draft" must be true or false/.test(e.message),
  );
  assert.throws(() => parseSizeInput('max-file-size', 'lots'), /takes a size like 50M/);
  assert.equal(
    readInputs((name) => (name === 'tag' ? 'v2.0.0' : ''), 'v1.0.0', '/o').tag,
    'v2.0.0',
    'the tag input wins over the event',
  );
});
