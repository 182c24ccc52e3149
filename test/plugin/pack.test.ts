import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { PluginError } from '../../src/plugin/diagnostics.ts';
import { pack } from '../../src/plugin/pack.ts';
import { readZip } from '../../src/plugin/zip-reader.ts';
import { FIXTURES, copyPlugin, run, tempDir } from '../helpers.ts';

const failure = async (promise: Promise<unknown>): Promise<PluginError> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PluginError, String(error));
    return error;
  }
  assert.fail('expected pack to fail');
};

/** Copies a tree file by file in the given order, with the given umask and mtime. */
async function copyTree(from: string, to: string, order: 'forward' | 'reverse', umask: string, mtime: Date) {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(path.join(from, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(rel);
      else files.push(rel);
    }
  };
  await walk('');
  if (order === 'reverse') files.reverse();
  const script = files
    .map((f) => `mkdir -p '${path.join(to, path.dirname(f))}' && cp '${path.join(from, f)}' '${path.join(to, f)}'`)
    .join(' && ');
  execFileSync('sh', ['-c', `umask ${umask} && ${script}`]);
  for (const f of files) await utimes(path.join(to, f), mtime, mtime);
}

test('the same source gives the same bytes whatever the mtimes, umask and creation order', async () => {
  const source = path.join(FIXTURES, 'plugins', 'full-plugin');
  const a = path.join(await tempDir(), 'plugin');
  const b = path.join(await tempDir(), 'plugin');
  await copyTree(source, a, 'forward', '022', new Date('2021-03-04T05:06:07Z'));
  await copyTree(source, b, 'reverse', '077', new Date('2025-12-31T23:59:59Z'));
  const [outA, outB] = [await tempDir(), await tempDir()];
  const first = await pack(a, { outDir: outA });
  const second = await pack(b, { outDir: outB });
  assert.equal(first.zip.sha256, second.zip.sha256);
  assert.ok((await readFile(first.zip.path)).equals(await readFile(second.zip.path)));
  assert.equal(
    first.zip.sha256,
    createHash('sha256')
      .update(await readFile(first.zip.path))
      .digest('hex'),
  );
});

test('entries are sorted, stamped with a fixed time and normalized permissions', async () => {
  const out = await tempDir();
  const summary = await pack(path.join(FIXTURES, 'plugins', 'full-plugin'), { outDir: out });
  const zip = await readZip(summary.zip.path);
  const names = zip.entries.map((e) => e.name);
  assert.deepEqual(
    names,
    [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
  );
  assert.ok(zip.entries.every((e) => e.unixMode === (e.isDirectory ? 0o040755 : 0o100644)));
  const listing = execFileSync('unzip', ['-Z', '-T', summary.zip.path], { encoding: 'utf8' });
  assert.ok(
    listing
      .split('\n')
      .filter((l) => /^[-d]r/.test(l))
      .every((l) => l.includes('20000101.000000')),
    listing,
  );
});

test('SOURCE_DATE_EPOCH sets the timestamp', async () => {
  const out = await tempDir();
  const previous = process.env.SOURCE_DATE_EPOCH;
  process.env.SOURCE_DATE_EPOCH = '1700000000'; // 2023-11-14T22:13:20Z
  try {
    const summary = await pack(path.join(FIXTURES, 'plugins', 'full-plugin'), { outDir: out });
    assert.match(execFileSync('unzip', ['-Z', '-T', summary.zip.path], { encoding: 'utf8' }), /20231114\.221320/);
  } finally {
    if (previous === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = previous;
  }
});

test('the layout is what the installer expects: files at the root, resources stripped, generated data in', async () => {
  const out = await tempDir();
  const summary = await pack(path.join(FIXTURES, 'plugins', 'full-plugin'), { outDir: out });
  const zip = await readZip(summary.zip.path, (n) => n.startsWith('db/data/'));
  const names = zip.entries.map((e) => e.name);
  assert.ok(names.includes('manifest.json'));
  assert.ok(names.includes('modules/mod-a/mod-a.json'), 'module JSON ships with its resources metadata');
  assert.ok(!names.some((n) => n.startsWith('resources/') || /^modules\/[^/]+\/resources\//.test(n)));
  assert.ok(!names.some((n) => n.startsWith('db/orphans/')), 'generator debug output does not ship');
  for (const file of ['LayoutsData.json', 'PaginasData.json', 'ComponentesData.json', 'VariaveisData.json']) {
    assert.equal(
      zip.contents.get(`db/data/${file}`)!.toString('utf8'),
      await readFile(path.join(FIXTURES, 'golden', 'full-plugin', 'data', file), 'utf8'),
      file,
    );
  }
  assert.ok(
    zip.contents
      .get('db/data/ModulosData.json')!
      .equals(await readFile(path.join(FIXTURES, 'plugins', 'full-plugin', 'db', 'data', 'ModulosData.json'))),
    'hand-written data ships unchanged',
  );
  assert.equal(await readFile(summary.sha256File, 'utf8'), `${summary.zip.sha256}\n`);
  assert.equal((await stat(summary.sha256File)).size, 65);
  assert.equal(await readFile(summary.sha256SumsFile, 'utf8'), `${summary.zip.sha256}  gestor-plugin.zip\n`);
  const check = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out });
  assert.equal(check.code, 0, check.stderr);
  const test = await run('unzip', ['-tq', summary.zip.path]);
  assert.equal(test.code, 0, test.stdout + test.stderr);
});

test('VCS, build and log files are excluded, and so is what .c2fignore names', async () => {
  const plugin = await copyPlugin('full-plugin');
  const junk = [
    '.git/config',
    '.gitignore',
    'node_modules/x/index.js',
    'tests/a.php',
    '.DS_Store',
    'assets/.DS_Store',
    'vendor/composer/tmp-123',
    'debug.log',
    'modules/mod-a/error.log',
  ];
  for (const file of junk) {
    await mkdir(path.dirname(path.join(plugin, file)), { recursive: true });
    await writeFile(path.join(plugin, file), 'junk');
  }
  await mkdir(path.join(plugin, 'assets/tests'), { recursive: true });
  await writeFile(
    path.join(plugin, 'assets/tests/keep.txt'),
    "only the root tests/ is excluded, as in Conn2Flow's workflow",
  );
  const summary = await pack(plugin, { outDir: await tempDir() });
  const names = (await readZip(summary.zip.path)).entries.map((e) => e.name);
  for (const file of [...junk, '.github/release.yml', '.c2fignore', 'drafts/notes.txt', 'assets/old.bak'])
    assert.ok(!names.includes(file), file);
  assert.ok(names.includes('assets/tests/keep.txt'));
});

test('secrets, symlinks, root composer files, server settings and non-ASCII names are refused, all offenders listed at once', async () => {
  const plugin = await copyPlugin('full-plugin');
  for (const file of [
    '.env',
    'config/.env.production',
    'keys/server.pem',
    'keys/id_rsa',
    'composer.json',
    'composer.lock',
    'assets/.htaccess',
    '.user.ini',
    'assets/caf\u00e9.png',
  ]) {
    await mkdir(path.dirname(path.join(plugin, file)), { recursive: true });
    await writeFile(path.join(plugin, file), 'secret');
  }
  await symlink('/etc/passwd', path.join(plugin, 'assets/passwd'));
  await mkdir(path.join(plugin, 'vendor/lib'), { recursive: true });
  await writeFile(path.join(plugin, 'vendor/lib/composer.json'), '{}');
  const out = await tempDir();
  const error = await failure(pack(plugin, { outDir: out }));
  assert.equal(error.exitCode, 11);
  const offenders = error.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => d.file)
    .sort();
  assert.deepEqual(offenders, [
    '.env',
    '.user.ini',
    'assets/.htaccess',
    'assets/caf\u00e9.png',
    'assets/passwd',
    'composer.json',
    'composer.lock',
    'config/.env.production',
    'keys/id_rsa',
    'keys/server.pem',
  ]);
  assert.match(error.diagnostics.find((d) => d.file === 'assets/caf\u00e9.png')!.message, /non-ASCII name/);
  assert.deepEqual(await readdir(out), [], 'nothing is written when packing is refused');
});

test('--allow lets a refused file ship', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(path.join(plugin, '.env.example'), 'DB_HOST=');
  const refused = await failure(pack(plugin, { outDir: await tempDir() }));
  assert.equal(refused.diagnostics.find((d) => d.severity === 'error')?.code, 'refused-file');
  const summary = await pack(plugin, { outDir: await tempDir(), allow: ['.env.example'] });
  assert.ok((await readZip(summary.zip.path)).entries.some((e) => e.name === '.env.example'));
});

test('size limits per file and in total', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(path.join(plugin, 'assets/big.bin'), Buffer.alloc(10000));
  const perFile = await failure(pack(plugin, { outDir: await tempDir(), maxFileSize: 8192 }));
  assert.deepEqual(
    perFile.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.file]),
    [['refused-size', 'assets/big.bin']],
  );
  const total = await failure(pack(plugin, { outDir: await tempDir(), maxTotalSize: 12000 }));
  assert.equal(total.diagnostics.find((d) => d.severity === 'error')?.code, 'refused-total-size');
});

test('a manifest.json below the root is a warning', async () => {
  const plugin = await copyPlugin('full-plugin');
  await mkdir(path.join(plugin, 'assets/pwa'), { recursive: true });
  await writeFile(path.join(plugin, 'assets/pwa/manifest.json'), '{"name": "PWA"}');
  const summary = await pack(plugin, { outDir: await tempDir() });
  assert.ok(summary.diagnostics.some((d) => d.code === 'nested-manifest' && d.file === 'assets/pwa/manifest.json'));
});

test('packing into the plugin folder itself never packs its own output', async () => {
  const plugin = await copyPlugin('full-plugin');
  const first = await pack(plugin, { outDir: plugin });
  const second = await pack(plugin, { outDir: plugin });
  assert.equal(first.zip.sha256, second.zip.sha256);
  assert.ok(
    !(await readZip(second.zip.path)).entries.some(
      (e) => e.name.startsWith('gestor-plugin.zip') || e.name === 'SHA256SUMS',
    ),
  );
});

test('a false headed for a tinyint column is refused at its source line (MariaDB strict mode would reject it, and Conn2Flow would say the sync succeeded)', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(
    path.join(plugin, 'resources/en/pages.json'),
    '[\n  {"id": "home", "name": "Home", "path": "home/",\n   "root": false}\n]',
  );
  await mkdir(path.join(plugin, 'resources/en/pages/home'), { recursive: true });
  const error = await failure(pack(plugin, { outDir: await tempDir() }));
  const found = error.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(found.length, 1);
  assert.deepEqual([found[0].code, found[0].file, found[0].line], ['data-column', 'resources/en/pages.json', 2]);
  assert.match(found[0].message, /raiz is false.*use 0/);
});

test('hand-written data is checked: too-long values and NOT NULL columns, with file:line', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(
    path.join(plugin, 'db/data/ModulosData.json'),
    '[\n  {"id": "m", "language": "portugues-brasil", "host": false}\n]',
  );
  await writeFile(path.join(plugin, 'db/data/LayoutsExtraData.json'), '[{"id": 1,}]');
  const error = await failure(pack(plugin, { outDir: await tempDir() }));
  const found = error.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => [d.file, d.line, d.message.replace(/:.*/, '')]);
  assert.deepEqual(
    found,
    [
      ['db/data/LayoutsExtraData.json', 1, 'invalid JSON'],
      ['db/data/ModulosData.json', 2, 'ModulosData.json row 1 (id "m", language "portugues-brasil")'],
      ['db/data/ModulosData.json', 2, 'ModulosData.json row 1 (id "m", language "portugues-brasil")'],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))) as unknown[][],
  );
});

test('a plugin without a resources map ships its db/data unchanged, with a warning', async () => {
  const plugin = await copyPlugin('full-plugin');
  const { rm } = await import('node:fs/promises');
  await rm(path.join(plugin, 'resources/resources.map.php'));
  const summary = await pack(plugin, { outDir: await tempDir() });
  assert.ok(summary.diagnostics.some((d) => d.code === 'resources-map-missing'));
  const zip = await readZip(summary.zip.path, (n) => n === 'db/data/LayoutsData.json');
  assert.ok(
    zip.contents.get('db/data/LayoutsData.json')!.equals(await readFile(path.join(plugin, 'db/data/LayoutsData.json'))),
  );
  assert.ok(
    zip.entries.some((e) => e.name.startsWith('resources/')),
    'resources/ is kept when nothing replaces it',
  );
});

test('large files stream through a data descriptor and come back intact', async () => {
  const plugin = await copyPlugin('full-plugin');
  const big = Buffer.concat([randomBytes(3 * 1024 * 1024), Buffer.alloc(3 * 1024 * 1024, 'a')]);
  await writeFile(path.join(plugin, 'assets/big.bin'), big);
  const summary = await pack(plugin, { outDir: await tempDir() });
  const zip = await readZip(summary.zip.path, (n) => n === 'assets/big.bin');
  const entry = zip.entries.find((e) => e.name === 'assets/big.bin')!;
  assert.equal(entry.flags & 0x8, 0x8);
  assert.ok(zip.contents.get('assets/big.bin')!.equals(big));
  const unzip = await run('unzip', ['-tq', summary.zip.path]);
  assert.equal(unzip.code, 0, unzip.stdout);
});
