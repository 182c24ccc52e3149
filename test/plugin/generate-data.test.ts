import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { loadBaseline } from '../../src/plugin/baseline.ts';
import { GENERATED_FILES, GENERATED_KINDS } from '../../src/plugin/data-files.ts';
import { GenerateError, emptyBaseline, generateData } from '../../src/plugin/generate-data.ts';
import { parseJsonSource } from '../../src/plugin/json-source.ts';
import { loadResourcesMap } from '../../src/plugin/load-resources-map.ts';
import { phpJsonEncode } from '../../src/plugin/php-json-encode.ts';
import { type PhpMap, isPhpArray, phpEntries } from '../../src/plugin/php-value.ts';
import { pack } from '../../src/plugin/pack.ts';
import { FIXTURES, copyPlugin, tempDir } from '../helpers.ts';

// The golden files under test/fixtures/golden/ were written by Conn2Flow's own generator
// (update-data-resources-plugin.php, PHP 8.2) from the same fixture tree and baseline.
const GOLDEN = path.join(FIXTURES, 'golden', 'full-plugin');
const FULL = path.join(FIXTURES, 'plugins', 'full-plugin');

async function generate(root: string) {
  const map = await loadResourcesMap(root, []);
  assert.ok(map);
  const { baseline } = await loadBaseline(root);
  return generateData(root, map, baseline);
}

test("generated Data.json files are byte-identical to Conn2Flow's generator", async () => {
  const generated = await generate(FULL);
  for (const kind of GENERATED_KINDS) {
    const expected = await readFile(path.join(GOLDEN, 'data', GENERATED_FILES[kind]), 'utf8');
    assert.equal(phpJsonEncode(generated.rows[kind]), expected, GENERATED_FILES[kind]);
  }
});

test("orphans match the generator's, except the module-variable bug's spurious entries", async () => {
  const generated = await generate(FULL);
  for (const kind of ['layouts', 'paginas', 'componentes'] as const) {
    const expected = await readFile(path.join(GOLDEN, 'orphans', GENERATED_FILES[kind]), 'utf8');
    assert.equal(phpJsonEncode(generated.orphans[kind]), expected, GENERATED_FILES[kind]);
  }
  // The fixture's module mod-a has two pt-br variables and no real duplicates among them: Conn2Flow's
  // nested loop reports each of them twice more as an orphan; we report none of them.
  const golden = parseJsonSource(await readFile(path.join(GOLDEN, 'orphans', GENERATED_FILES.variaveis), 'utf8')).php;
  assert.ok(isPhpArray(golden));
  const all = phpEntries(golden).map(([, row]) => row as PhpMap);
  const spurious = all.filter((row) => row.get('modulo') === 'mod-a');
  assert.equal(spurious.length, 4);
  assert.equal(phpJsonEncode(generated.orphans.variaveis), phpJsonEncode(all.filter((row) => !spurious.includes(row))));
});

test('versao is kept when the checksum is unchanged and bumped when it changed', async () => {
  const rows = (await generate(FULL)).rows;
  const versao = (kind: 'layouts' | 'paginas' | 'componentes', id: string, language = 'pt-br') =>
    rows[kind].find((r) => r.get('id') === id && r.get('language') === language)?.get('versao');
  assert.equal(versao('layouts', 'layout-main'), 3n, 'unchanged: keeps 3');
  assert.equal(versao('layouts', 'layout-alt'), 6n, 'changed, old versao "5" as a string: 6');
  assert.equal(versao('componentes', 'comp-card'), 2n, 'old checksum stored as an object still compares');
  assert.equal(versao('paginas', 'home'), 2n, 'changed, old versao missing counts as 1');
  assert.equal(versao('paginas', 'contact'), 5n, 'old checksum not JSON: always a change');
  assert.equal(versao('paginas', 'mod-a-list'), 7n, 'module page keyed by language|module|id');
  assert.equal(versao('layouts', 'layout-empty'), 1n, 'new row');
});

test('without a baseline every row starts at versao 1', async () => {
  const map = await loadResourcesMap(FULL, []);
  const generated = await generateData(FULL, map!, emptyBaseline());
  for (const kind of ['layouts', 'paginas', 'componentes'] as const) {
    assert.ok(
      generated.rows[kind].every((r) => r.get('versao') === 1n),
      kind,
    );
  }
});

test('a previous release zip is a baseline, so versao keeps counting across releases', async () => {
  const plugin = await copyPlugin('full-plugin');
  const out1 = await tempDir();
  await pack(plugin, { outDir: out1 });
  // Release 2: the plugin's own db/data is gone (CI never commits it); one page changes.
  await writeFile(path.join(plugin, 'resources/pt-br/pages/home/home.html'), '<h1>Olá de novo</h1>\n');
  const { rm } = await import('node:fs/promises');
  await rm(path.join(plugin, 'db/data/PaginasData.json'));
  const map = await loadResourcesMap(plugin, []);
  const fromZip = await loadBaseline(plugin, path.join(out1, 'gestor-plugin.zip'));
  const second = await generateData(plugin, map!, fromZip.baseline);
  const page = (id: string) =>
    second.rows.paginas.find((r) => r.get('id') === id && r.get('language') === 'pt-br')!.get('versao');
  assert.equal(page('home'), 3n, 'release 1 had versao 2; the change makes it 3');
  assert.equal(page('mod-a-list'), 7n);
  const ownData = await loadBaseline(plugin);
  const withoutZip = await generateData(plugin, map!, ownData.baseline);
  assert.equal(
    withoutZip.rows.paginas.find((r) => r.get('id') === 'home')!.get('versao'),
    1n,
    'without the previous release versao would start over',
  );
});

test('a baseline folder may be a plugin root or a db/data folder', async () => {
  const viaRoot = await loadBaseline('/nonexistent', FULL);
  const viaData = await loadBaseline('/nonexistent', path.join(FULL, 'db', 'data'));
  assert.equal(viaRoot.baseline.layouts.size, viaData.baseline.layouts.size);
  assert.ok(viaRoot.baseline.layouts.has('pt-br|layout-main'));
  await assert.rejects(loadBaseline(FULL, '/does/not/exist'), /the baseline does not exist/);
});

test('invalid UTF-8 in a resource is an error naming the file (PHP writes a 0-byte file)', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(
    path.join(plugin, 'resources/pt-br/components/comp-menu/comp-menu.css'),
    Buffer.from([0x61, 0xff, 0xfe, 0x62]),
  );
  await assert.rejects(generate(plugin), (error: unknown) => {
    assert.ok(error instanceof GenerateError);
    assert.equal(error.diagnostic.file, 'resources/pt-br/components/comp-menu/comp-menu.css');
    assert.match(error.diagnostic.message, /not valid UTF-8/);
    return true;
  });
});

test('a malformed resources list is an error with line and column (PHP would treat it as empty)', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(path.join(plugin, 'resources/en/pages.json'), '[\n  {"id": "home",}\n]');
  await assert.rejects(generate(plugin), (error: unknown) => {
    assert.ok(error instanceof GenerateError);
    assert.deepEqual([error.diagnostic.file, error.diagnostic.line], ['resources/en/pages.json', 2]);
    return true;
  });
});

test('a non-string id is an error where PHP would crash with a TypeError', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(path.join(plugin, 'resources/en/layouts.json'), '[\n  {"id": 42}\n]');
  await assert.rejects(generate(plugin), /"id" must be a string/);
});

test('warns once per file on CRLF and mixed line endings and never rewrites content', async () => {
  const generated = await generate(FULL);
  const warned = generated.diagnostics
    .filter((d) => d.code === 'resource-line-endings')
    .map((d) => [d.file, d.message.split(' line')[0]]);
  assert.deepEqual(warned, [
    ['resources/pt-br/layouts/layout-crlf/layout-crlf.html', 'CRLF'],
    ['resources/pt-br/pages/about/about.html', 'mixed LF and CRLF'],
  ]);
  const row = generated.rows.layouts.find((r) => r.get('id') === 'layout-crlf')!;
  assert.deepEqual(row.get('html'), Buffer.from('<div>\r\n  windows\r\n</div>\r\n'));
});

test('a missing list file named by the map is a warning, and modules are read for every language', async () => {
  const plugin = await copyPlugin('full-plugin');
  const { rm } = await import('node:fs/promises');
  await rm(path.join(plugin, 'resources/en/variables.json'));
  await mkdir(path.join(plugin, 'modules/.hidden'), { recursive: true });
  await writeFile(
    path.join(plugin, 'modules/.hidden/.hidden.json'),
    '{"resources": {"en": {"pages": [{"id": "hidden"}]}}}',
  );
  const generated = await generate(plugin);
  assert.ok(
    generated.diagnostics.some((d) => d.code === 'resources-list-missing' && d.file === 'resources/en/variables.json'),
  );
  assert.ok(!generated.rows.paginas.some((r) => r.get('id') === 'hidden'), 'glob("*") skips dot folders');
  assert.ok(
    generated.rows.paginas.some((r) => r.get('id') === 'mod-a-list' && r.get('language') === 'es'),
    'es has no data but its module pages count',
  );
});
