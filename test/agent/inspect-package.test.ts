import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { inspectPackage } from '../../src/plugin/inspect-package.ts';
import { pack } from '../../src/plugin/pack.ts';
import { copyPlugin, run, tempDir } from '../helpers.ts';
import { ACCEPTED_ZIPS, HOSTILE_ZIPS, packageWith } from './raw-zip.ts';

// Every hostile zip of the corpus is refused before any installer sees it, with its own reason and the
// Conn2Flow exit code (21 for the zip, 11 for the manifest); real packages pass, and for every package that
// passes, PHP's ZipArchive (what Conn2Flow extracts with) and Info-ZIP unzip write nothing outside their folder
// and no file the inspection did not see.

const EXPECTED = { id: 'demo-plugin', version: '1.0.0' };

test('the hostile corpus covers every class: at least 45 zips', () => {
  assert.ok(HOSTILE_ZIPS.length >= 45, `${HOSTILE_ZIPS.length} zips`);
});

/** Extracts with PHP's ZipArchive and with unzip into a sandbox; returns the files each wrote, and anything outside. */
async function extractEverywhere(zip: string): Promise<Array<{ tool: string; files: string[]; outside: string[] }>> {
  const results = [];
  for (const tool of ['php', 'unzip']) {
    const sandbox = await tempDir(`c2f-extract-${tool}-`);
    const target = path.join(sandbox, 'plugin');
    await mkdir(target);
    const extracted =
      tool === 'php'
        ? await run('php', [
            '-r',
            '$z = new ZipArchive(); if ($z->open($argv[1]) !== true) exit(3); $z->extractTo($argv[2]); $z->close();',
            zip,
            target,
          ])
        : await run('unzip', ['-q', '-o', zip, '-d', target], { env: { LC_ALL: 'C.UTF-8' } }); // as a UTF-8 host runs it
    assert.equal(extracted.code, 0, `${tool}: ${extracted.stderr}`);
    const files = (await readdir(target, { recursive: true, withFileTypes: true }))
      .filter((d) => !d.isDirectory())
      .map((d) => path.relative(target, path.join(d.parentPath, d.name)))
      .sort();
    const outside = (await readdir(sandbox)).filter((name) => name !== 'plugin');
    results.push({ tool, files, outside });
  }
  return results;
}

for (const accepted of ACCEPTED_ZIPS) {
  test(`accepts: ${accepted.name}; ZipArchive and unzip extract exactly what was inspected`, async () => {
    const file = path.join(await tempDir(), 'gestor-plugin.zip');
    await writeFile(file, accepted.zip());
    const result = await inspectPackage(file, EXPECTED);
    assert.ok(result.ok, result.ok ? '' : result.reason);
    const seen = result.names.filter((n) => !n.endsWith('/')).sort();
    for (const { tool, files, outside } of await extractEverywhere(file)) {
      assert.deepEqual(outside, [], `${tool} wrote outside its folder`);
      assert.deepEqual(files, seen, `${tool} wrote what the inspection saw`);
    }
  });
}

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
  await writeFile(
    file,
    packageWith([
      { name: 'modules/demo/demo.php', data: '<?php\n' },
      { name: 'modules/', data: '' },
    ]),
  );
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
  for (const { tool, files, outside } of await extractEverywhere(summary.zip.path)) {
    assert.deepEqual(outside, [], tool);
    assert.deepEqual(files, result.names.filter((n) => !n.endsWith('/')).sort(), tool);
  }
});

test('limits come from the caller: entry count and total size', async () => {
  const file = path.join(await tempDir(), 'gestor-plugin.zip');
  await writeFile(
    file,
    packageWith(Array.from({ length: 30 }, (_, i) => ({ name: `f${i}.txt`, data: 'x'.repeat(100) }))),
  );
  const many = await inspectPackage(file, EXPECTED, { maxEntries: 10, maxTotalBytes: 1e9, maxRatio: 200 });
  assert.ok(!many.ok && /32 entries: more than the limit of 10/.test(many.reason));
  const large = await inspectPackage(file, EXPECTED, { maxEntries: 100, maxTotalBytes: 2000, maxRatio: 200 });
  assert.ok(!large.ok && /more than 2000 bytes once extracted/.test(large.reason));
});
