import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { inspectPackage } from '../../src/plugin/inspect-package.ts';
import { pack } from '../../src/plugin/pack.ts';
import { copyPlugin, tempDir } from '../helpers.ts';
import { HOSTILE_ZIPS, packageWith } from './raw-zip.ts';

// Every hostile zip of the corpus is refused before any installer sees it, with its own reason and the
// Conn2Flow exit code (21 for the zip, 11 for the manifest); real packages pass.

const EXPECTED = { id: 'demo-plugin', version: '1.0.0' };

test('the hostile corpus has at least 15 zips', () => {
  assert.ok(HOSTILE_ZIPS.length >= 15, `${HOSTILE_ZIPS.length} zips`);
});

for (const hostile of HOSTILE_ZIPS) {
  test(`refuses: ${hostile.name}`, async () => {
    const file = path.join(await tempDir(), 'gestor-plugin.zip');
    await writeFile(file, hostile.zip());
    const result = await inspectPackage(file, EXPECTED);
    assert.equal(result.ok, false, `${hostile.name} was accepted`);
    if (result.ok) return;
    assert.equal(result.exitCode, hostile.exitCode, result.reason);
    assert.match(result.reason, hostile.reason);
  });
}

test('accepts a clean package and reads its manifest', async () => {
  const file = path.join(await tempDir(), 'gestor-plugin.zip');
  await writeFile(file, packageWith([{ name: 'modules/demo/demo.php', data: '<?php\n' }, { name: 'modules/', data: '' }]));
  const result = await inspectPackage(file, EXPECTED);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  assert.deepEqual(result.manifest, { id: 'demo-plugin', name: 'Demo Plugin', version: '1.0.0' });
  assert.equal(result.entries, 4);
});

test('accepts what the packer builds', async () => {
  const dir = await copyPlugin('full-plugin');
  const out = await tempDir();
  const summary = await pack(dir, { outDir: out });
  const result = await inspectPackage(summary.zip.path, { id: summary.plugin.id, version: summary.plugin.version });
  assert.ok(result.ok, result.ok ? '' : result.reason);
  assert.equal(result.entries, summary.zip.entries);
});

test('limits come from the caller: entry count and total size', async () => {
  const file = path.join(await tempDir(), 'gestor-plugin.zip');
  await writeFile(file, packageWith(Array.from({ length: 30 }, (_, i) => ({ name: `f${i}.txt`, data: 'x'.repeat(100) }))));
  const many = await inspectPackage(file, EXPECTED, { maxEntries: 10, maxTotalBytes: 1e9, maxRatio: 200 });
  assert.ok(!many.ok && /32 entries: more than the limit of 10/.test(many.reason));
  const large = await inspectPackage(file, EXPECTED, { maxEntries: 100, maxTotalBytes: 2000, maxRatio: 200 });
  assert.ok(!large.ok && /more than 2000 bytes once extracted/.test(large.reason));
});
