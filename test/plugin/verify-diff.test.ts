import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { diffPackages } from '../../src/plugin/diff-packages.ts';
import { pack } from '../../src/plugin/pack.ts';
import { verifyPackage } from '../../src/plugin/verify-package.ts';
import { writeZip } from '../../src/plugin/zip-writer.ts';
import { FIXTURES, copyPlugin, tempDir } from '../helpers.ts';

const FULL = path.join(FIXTURES, 'plugins', 'full-plugin');

async function packed() {
  const out = await tempDir();
  return pack(FULL, { outDir: out });
}

test('a fresh package verifies, with its .sha256 beside it', async () => {
  const summary = await packed();
  const result = await verifyPackage(summary.zip.path);
  assert.equal(result.ok, true, JSON.stringify(result.diagnostics));
  assert.equal(result.exitCode, 0);
  assert.deepEqual(result.plugin, { id: 'full-plugin', name: 'Full Plugin', version: '1.2.3' });
  assert.deepEqual(result.sha256File, { path: `${summary.zip.path}.sha256`, matches: true });
  assert.equal(result.rows['PaginasData.json'], 9);
});

test('a .sha256 in sha256sum format fails with 22 and says why', async () => {
  const summary = await packed();
  const shaFile = path.join(path.dirname(summary.zip.path), 'sums.txt');
  await writeFile(shaFile, `${summary.zip.sha256}  gestor-plugin.zip\n`);
  const result = await verifyPackage(summary.zip.path, shaFile);
  assert.equal(result.exitCode, 22);
  assert.match(result.diagnostics[0].message, /sha256sum format.*bare lowercase hex digest/);
});

test('a .sha256 that does not match fails with 22', async () => {
  const summary = await packed();
  await writeFile(summary.sha256File, `${'0'.repeat(64)}\n`);
  assert.equal((await verifyPackage(summary.zip.path)).exitCode, 22);
});

test('not a zip, or under 128 bytes, fails with 21', async () => {
  const dir = await tempDir();
  await writeFile(path.join(dir, 'small.zip'), 'PK');
  await writeFile(path.join(dir, 'junk.zip'), Buffer.alloc(4096, 7));
  assert.equal((await verifyPackage(path.join(dir, 'small.zip'))).exitCode, 21);
  const junk = await verifyPackage(path.join(dir, 'junk.zip'));
  assert.equal(junk.exitCode, 21);
  assert.equal(junk.diagnostics[0].code, 'zip-invalid');
});

test('a zip with its files inside a folder has no manifest at the root: 11', async () => {
  const plugin = await copyPlugin('full-plugin');
  const out = await tempDir();
  execFileSync('zip', ['-qr', path.join(out, 'wrapped.zip'), 'full-plugin'], { cwd: path.dirname(plugin) });
  const result = await verifyPackage(path.join(out, 'wrapped.zip'));
  assert.equal(result.exitCode, 11);
  assert.equal(result.diagnostics.find((d) => d.severity === 'error')?.code, 'manifest-missing');
});

test('tampered content is caught: checksum objects, stale checksums, invalid manifests', async () => {
  const dir = await tempDir();
  const manifest = Buffer.from('{"id": "x", "name": "X", "version": "1.0.0"}');
  const layout = (checksum: unknown, html = '<p>a</p>') =>
    Buffer.from(JSON.stringify([{ nome: 'L', id: 'l', language: 'en', html, css: null, versao: 1, checksum }]));
  const build = (name: string, files: Record<string, Buffer>) =>
    writeZip(
      path.join(dir, name),
      Object.entries(files).map(([n, source]) => ({ name: n, source, size: source.length })),
    ).then(() => path.join(dir, name));
  const html = '<p>a</p>';
  const { createHash } = await import('node:crypto');
  const md5 = createHash('md5').update(html).digest('hex');
  const correct = `{"html":"${md5}","css":"","combined":"${md5}"}`;
  const ok = await verifyPackage(
    await build('ok.zip', {
      'manifest.json': manifest,
      'db/data/LayoutsData.json': layout(correct),
      'pad.txt': Buffer.alloc(200, 'x'),
    }),
  );
  assert.equal(ok.exitCode, 0, JSON.stringify(ok.diagnostics));
  assert.deepEqual(
    ok.diagnostics.map((d) => [d.code, d.message.replace(/.*\(/, '(')]),
    [['data-row-shape', '(missing framework_css, status, file_version)']],
    'a hand-made row is flagged, not refused',
  );
  const object = await verifyPackage(
    await build('object.zip', {
      'manifest.json': manifest,
      'db/data/LayoutsData.json': layout(JSON.parse(correct)),
      'pad.txt': Buffer.alloc(200, 'x'),
    }),
  );
  assert.equal(object.exitCode, 11);
  assert.match(object.diagnostics.find((d) => d.severity === 'error')!.message, /literal text "Array"/);
  const stale = await verifyPackage(
    await build('stale.zip', {
      'manifest.json': manifest,
      'db/data/LayoutsData.json': layout(correct, '<p>b</p>'),
      'pad.txt': Buffer.alloc(200, 'x'),
    }),
  );
  assert.equal(stale.exitCode, 11);
  assert.equal(stale.diagnostics.find((d) => d.severity === 'error')!.code, 'data-checksum');
  const badManifest = await verifyPackage(
    await build('manifest.zip', {
      'manifest.json': Buffer.from('{"id": "x", "nome": "X", "version": "1.0"}'),
      'pad.txt': Buffer.alloc(200, 'x'),
    }),
  );
  assert.equal(badManifest.exitCode, 11);
  assert.deepEqual(
    badManifest.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => d.code)
      .sort(),
    ['manifest-name', 'manifest-version'],
  );
  const empty = await verifyPackage(
    await build('empty.zip', {
      'manifest.json': manifest,
      'db/data/PaginasData.json': Buffer.alloc(0),
      'pad.txt': Buffer.alloc(200, 'x'),
    }),
  );
  assert.match(empty.diagnostics.find((d) => d.severity === 'error')!.message, /empty file/);
});

test('diff shows manifest changes and rows added, changed and removed per table', async () => {
  const plugin = await copyPlugin('full-plugin');
  const first = await pack(plugin, { outDir: await tempDir() });
  const manifestPath = path.join(plugin, 'manifest.json');
  await writeFile(manifestPath, (await readFile(manifestPath, 'utf8')).replace('"1.2.3"', '"1.3.0"'));
  await writeFile(path.join(plugin, 'resources/en/pages/home/home.html'), '<h1>Hello again</h1>\n');
  await writeFile(
    path.join(plugin, 'resources/en/variables.json'),
    '[{"id": "site-title", "value": "My site", "type": "string"}, {"id": "new-var", "value": "1"}]',
  );
  await writeFile(path.join(plugin, 'resources/en/layouts.json'), '[]');
  await copyFile(path.join(plugin, 'assets/js/app.js'), path.join(plugin, 'assets/js/app2.js'));
  const second = await pack(plugin, { outDir: await tempDir(), baseline: first.zip.path });
  const diff = await diffPackages(first.zip.path, second.zip.path);
  assert.deepEqual(diff.manifest, [{ key: 'version', from: '1.2.3', to: '1.3.0' }]);
  assert.deepEqual(diff.tables.paginas, {
    added: [],
    changed: [{ key: 'en||home', fields: ['html', 'versao', 'checksum'] }],
    removed: [],
  });
  assert.deepEqual(diff.tables.variaveis.added, ['en|||new-var']);
  assert.deepEqual(diff.tables.layouts.removed, ['en||layout-main']);
  assert.deepEqual(diff.files.added, ['assets/js/app2.js']);
  assert.ok(diff.files.changed.includes('manifest.json'));
});
