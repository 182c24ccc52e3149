import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkManifest } from '../../src/plugin/manifest.ts';

const TEMPLATE = `{
    "id": "test-plugin-public",
    "name": "Test Plugin Public",
    "version": "0.1.7",
    "description": "Plugin Template Manifest.",
    "compatibility": {
        "min": "1.0.0",
        "max": "2.x"
    },
    "author": "Conn2Flow",
    "license": "MIT",
    "resources": {
        "layouts": true,
        "pages": true,
        "components": true,
        "variables": true
    },
    "post_install_scripts": [],
    "checksum_override": null
}`;

const errors = (text: string) => checkManifest(text).diagnostics.filter((d) => d.severity === 'error');
const warnings = (text: string) => checkManifest(text).diagnostics.filter((d) => d.severity === 'warning');

test("accepts Conn2Flow's template manifest without a warning", () => {
  const result = checkManifest(TEMPLATE);
  assert.deepEqual(result.diagnostics, []);
  assert.equal(result.manifest?.id, 'test-plugin-public');
});

test('requires id, name and version, pointing at the object', () => {
  const found = errors('{\n  "description": "x"\n}');
  assert.deepEqual(found.map((d) => d.code).sort(), ['manifest-id', 'manifest-name', 'manifest-version']);
  assert.ok(found.every((d) => d.file === 'manifest.json' && d.line === 1 && d.column === 1));
});

test('the Portuguese nome/versao are warned about and explained in the missing-field error', () => {
  const text = '{\n  "id": "x",\n  "nome": "X",\n  "versao": "1.0.0"\n}';
  const found = errors(text);
  assert.match(found.find((d) => d.code === 'manifest-name')!.message, /"nome" is not read: rename it to "name"/);
  assert.match(found.find((d) => d.code === 'manifest-version')!.message, /"versao" is not read/);
  const warned = warnings(text).filter((d) => d.code === 'manifest-portuguese-key');
  assert.deepEqual(
    warned.map((d) => [d.line, d.column]),
    [
      [3, 3],
      [4, 3],
    ],
  );
});

test('version must be strictly x.y.z: pre-releases are rejected as the installer does', () => {
  for (const version of ['1.0.0-beta', '1.0', 'v1.0.0', '1.0.0+build', ' 1.0.0']) {
    const found = errors(`{"id": "x", "name": "X", "version": "${version}"}`);
    assert.equal(found.length, 1, version);
    assert.equal(found[0].code, 'manifest-version');
    assert.match(found[0].message, /use x\.y\.z/);
    assert.equal(found[0].column, 37);
  }
});

test('id must match the installer\'s pattern, and "0" counts as missing', () => {
  for (const id of ['My-Plugin', '-x', 'a b', 'é', '0'])
    assert.equal(errors(`{"id": "${id}", "name": "X", "version": "1.0.0"}`)[0]?.code, 'manifest-id', id);
  assert.deepEqual(errors('{"id": "a_b-9", "name": "X", "version": "1.0.0"}'), []);
});

test("types the template's other fields", () => {
  const found = errors(
    '{"id": "x", "name": "X", "version": "1.0.0", "compatibility": {"min": 1}, "resources": {"pages": "yes"}, "post_install_scripts": "run.php"}',
  );
  assert.deepEqual(found.map((d) => d.code).sort(), [
    'manifest-compatibility',
    'manifest-post_install_scripts',
    'manifest-resources',
  ]);
});

test('dependencies are typed; "dependencias" is accepted with a warning', () => {
  assert.equal(
    errors('{"id": "x", "name": "X", "version": "1.0.0", "dependencies": [{"min": "1.0.0"}]}')[0]?.code,
    'manifest-dependencies',
  );
  const result = checkManifest(
    '{"id": "x", "name": "X", "version": "1.0.0", "dependencias": [{"id": "core-y", "min": "1.0.0"}]}',
  );
  assert.deepEqual(
    result.diagnostics.map((d) => d.code),
    ['manifest-portuguese-key'],
  );
  assert.deepEqual(result.manifest?.dependencies, [{ id: 'core-y', min: '1.0.0' }]);
});

test('dependencies need versions x.y.z, a range that is not empty, another plugin, each once; errors point at the value', () => {
  const manifest = (deps: unknown) =>
    JSON.stringify({ id: 'shop', name: 'Shop', version: '1.0.0', dependencies: deps }, null, 1);
  const found = (deps: unknown) =>
    checkManifest(manifest(deps))
      .diagnostics.filter((d) => d.severity === 'error')
      .map((d) => [d.message, d.line]);
  assert.deepEqual(
    found([
      { id: 'core', min: '1.0.0', max: '2.3.4' },
      { id: 'pay', min: '0.1.0' },
      { id: 'tax', max: '3.0.0' },
    ]),
    [],
  );
  assert.deepEqual(found([{ id: 'shop' }]), [['"shop" is this plugin: a plugin cannot depend on itself', 7]]);
  assert.deepEqual(found([{ id: 'core', min: '1.x' }]), [['min of "core" must be a version x.y.z (found "1.x")', 8]]);
  assert.deepEqual(found([{ id: 'core', min: '2.0.0', max: '1.9.9' }]), [
    ['the range of "core" is empty: min 2.0.0 is above max 1.9.9', 9],
  ]);
  assert.deepEqual(found([{ id: 'core' }, { id: 'core', min: '1.0.0' }]), [
    ['"core" is listed twice: give it one range', 10],
  ]);
  assert.equal(checkManifest(manifest([{ id: 'Core' }])).diagnostics[0]?.code, 'manifest-dependencies');
});

test('unknown keys are warnings with their position', () => {
  const found = warnings('{"id": "x", "name": "X", "version": "1.0.0",\n "homepage": "https://example.com"}');
  assert.deepEqual(
    found.map((d) => [d.code, d.line, d.column]),
    [['manifest-unknown-key', 2, 2]],
  );
});

test('malformed JSON gives line and column, never a stack trace', () => {
  const found = errors('{\n  "id": "x",\n  "name": "X"\n  "version": "1.0.0"\n}');
  assert.equal(found.length, 1);
  assert.equal(found[0].code, 'manifest-json');
  assert.deepEqual([found[0].line, found[0].column], [4, 3]);
  assert.doesNotMatch(found[0].message, /at .*\.ts/);
});

test('a manifest that is not an object is an error', () => {
  assert.equal(errors('["id"]')[0].code, 'manifest-type');
});
