import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import diagnosticSchema from '../../src/cli/schemas/diagnostic.schema.json' with { type: 'json' };
import diffSchema from '../../src/cli/schemas/diff-result.schema.json' with { type: 'json' };
import failureSchema from '../../src/cli/schemas/failure.schema.json' with { type: 'json' };
import packSchema from '../../src/cli/schemas/pack-result.schema.json' with { type: 'json' };
import verifySchema from '../../src/cli/schemas/verify-result.schema.json' with { type: 'json' };
import { FIXTURES, REPO, cli, copyPlugin, run, tempDir } from '../helpers.ts';

const ajv = new Ajv2020({ allErrors: true, strict: true }).addSchema([diagnosticSchema, failureSchema]);
const validators = { pack: ajv.compile(packSchema), verify: ajv.compile(verifySchema), diff: ajv.compile(diffSchema) };
const assertSchema = (kind: keyof typeof validators, value: unknown) => {
  const validate = validators[kind];
  assert.ok(validate(value), JSON.stringify(validate.errors));
};
const FULL = path.join(FIXTURES, 'plugins', 'full-plugin');

test('pack writes the three files and prints a summary', async () => {
  const out = await tempDir();
  const result = await cli(['pack', FULL, '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Packed Full Plugin \(full-plugin\) 1\.2\.3/);
  assert.match(result.stdout, /PaginasData\.json\s+9 rows, 6 orphaned/);
  assert.match(result.stdout, /sha256 [0-9a-f]{64}/);
  assert.match(result.stderr, /resources\/pt-br\/layouts\/layout-crlf\/layout-crlf\.html: warning: CRLF/);
  const sha = (await readFile(path.join(out, 'gestor-plugin.zip.sha256'), 'utf8')).trim();
  assert.match(result.stdout, new RegExp(sha));
});

test('pack --json follows its schema; --quiet prints nothing but errors', async () => {
  const out = await tempDir();
  const json = await cli(['pack', FULL, '--out', out, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assertSchema('pack', parsed);
  assert.equal(parsed.rows['LayoutsData.json'], 7);
  assert.equal(json.stderr, '');
  const quiet = await cli(['pack', FULL, '--out', out, '--quiet']);
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stdout + quiet.stderr, '');
});

test('the packed output defaults to the current directory', async () => {
  const cwd = await tempDir();
  const result = await cli(['pack', FULL, '--quiet'], { cwd });
  assert.equal(result.code, 0, result.stderr);
  assert.ok((await readFile(path.join(cwd, 'gestor-plugin.zip'))).length > 128);
});

test('a bad manifest exits 11 with file:line:column and no stack trace', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(
    path.join(plugin, 'manifest.json'),
    '{\n    "id": "full-plugin",\n    "nome": "Full",\n    "version": "1.2.3-beta"\n}',
  );
  const out = await tempDir();
  const result = await cli(['pack', plugin, '--out', out]);
  assert.equal(result.code, 11);
  assert.match(result.stderr, /^manifest\.json:4:16: error: invalid version/m);
  assert.match(result.stderr, /^manifest\.json:1:1: error: missing required field "name" \("nome" is not read/m);
  assert.match(result.stderr, /^manifest\.json:3:5: warning: "nome" is not read by the installer/m);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
  const json = await cli(['pack', plugin, '--out', out, '--json']);
  assert.equal(json.code, 11);
  assertSchema('pack', JSON.parse(json.stdout));
});

test('malformed manifest JSON exits 11 with the position', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(path.join(plugin, 'manifest.json'), '{\n  "id": "x"\n  "name": "y"\n}');
  const result = await cli(['pack', plugin, '--out', await tempDir()]);
  assert.equal(result.code, 11);
  assert.match(result.stderr, /^manifest\.json:3:3: error: invalid JSON/m);
});

test('a missing folder exits 10; wrong usage exits 64 and points at --help', async () => {
  const missing = await cli(['pack', '/no/such/plugin']);
  assert.equal(missing.code, 10);
  assert.match(missing.stderr, /plugin folder not found/);
  const usage = await cli(['pack']);
  assert.equal(usage.code, 64);
  assert.equal(
    usage.stderr,
    'c2f-plugin pack: pack takes exactly one plugin folder; "c2f-plugin pack --help" shows how to use it\n',
  );
  const unknown = await cli(['pack', FULL, '--bogus']);
  assert.equal(unknown.code, 64);
  assert.equal((await cli(['frobnicate'])).code, 64);
  const help = await cli(['pack', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--baseline ZIP\|DIR/);
});

test('verify and diff from the command line, with schemas', async () => {
  const out1 = await tempDir();
  const out2 = await tempDir();
  const plugin = await copyPlugin('full-plugin');
  assert.equal((await cli(['pack', plugin, '--out', out1, '--quiet'])).code, 0);
  await writeFile(path.join(plugin, 'resources/en/pages/home/home.html'), '<h1>changed</h1>');
  assert.equal(
    (await cli(['pack', plugin, '--out', out2, '--quiet', '--baseline', path.join(out1, 'gestor-plugin.zip')])).code,
    0,
  );

  const verify = await cli(['verify', path.join(out2, 'gestor-plugin.zip')]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /^OK: .*full-plugin 1\.2\.3/);
  const verifyJson = await cli(['verify', path.join(out2, 'gestor-plugin.zip'), '--json']);
  assertSchema('verify', JSON.parse(verifyJson.stdout));

  await writeFile(path.join(out2, 'wrong.sha256'), `${'a'.repeat(64)}\n`);
  const mismatch = await cli([
    'verify',
    path.join(out2, 'gestor-plugin.zip'),
    '--sha256',
    path.join(out2, 'wrong.sha256'),
    '--json',
  ]);
  assert.equal(mismatch.code, 22);
  const parsed = JSON.parse(mismatch.stdout);
  assertSchema('verify', parsed);
  assert.equal(parsed.exitLabel, 'CHECKSUM');

  const diff = await cli(['diff', path.join(out1, 'gestor-plugin.zip'), path.join(out2, 'gestor-plugin.zip')]);
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /paginas: 0 added, 1 changed, 0 removed\n {2}~ en\|\|home \(html, versao, checksum\)/);
  const diffJson = await cli([
    'diff',
    path.join(out1, 'gestor-plugin.zip'),
    path.join(out2, 'gestor-plugin.zip'),
    '--json',
  ]);
  assertSchema('diff', JSON.parse(diffJson.stdout));
  const notZip = await cli(['diff', path.join(out1, 'gestor-plugin.zip.sha256'), path.join(out2, 'gestor-plugin.zip')]);
  assert.equal(notZip.code, 21);
  assert.match(notZip.stderr, /not a readable zip/);
});

// dist/ is built once before the tests (npm test, npm run test:unit): rebuilding it here would pull its chunks
// from under the tests running beside this one.
test('the bundled dist/cli.js (the npm bin) packs the same bytes as the source', async () => {
  const [a, b] = [await tempDir(), await tempDir()];
  const bundled = await run(process.execPath, [path.join(REPO, 'dist', 'cli.js'), 'pack', FULL, '--out', a, '--quiet']);
  assert.equal(bundled.code, 0, bundled.stderr);
  const source = await run(process.execPath, [
    path.join(REPO, 'src', 'cli', 'c2f-plugin.ts'),
    'pack',
    FULL,
    '--out',
    b,
    '--quiet',
  ]);
  assert.equal(source.code, 0, source.stderr);
  assert.ok(
    (await readFile(path.join(a, 'gestor-plugin.zip'))).equals(await readFile(path.join(b, 'gestor-plugin.zip'))),
  );
  // The bot lives in a chunk of its own: packing never loads Probot, PGlite or pg-boss.
  const bundle = await readFile(path.join(REPO, 'dist', 'c2f-plugin.js'), 'utf8');
  const staticChunks = [...bundle.matchAll(/from"(\.\/chunks\/[^"]+)"/g)].map((m) => m[1]);
  assert.ok(staticChunks.length > 0, 'the bundle imports its shared chunks');
  for (const file of ['c2f-plugin.js', ...staticChunks]) {
    const text = await readFile(path.join(REPO, 'dist', file), 'utf8');
    assert.doesNotMatch(text, /from"(probot|@electric-sql\/pglite|pg-boss)"/, `${file} loads the bot's dependencies`);
  }
});

test('a reader that stops early (| head -1) ends the command quietly, not with a stack trace', async () => {
  const out = await tempDir();
  assert.equal((await cli(['pack', FULL, '--out', out, '--quiet'])).code, 0);
  const child = spawn(
    process.execPath,
    [path.join(REPO, 'dist', 'cli.js'), 'verify', path.join(out, 'gestor-plugin.zip')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdout.destroy(); // the reader is gone before the first line
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

test('a 200 MB plugin is packed in flat memory (streamed, never held whole)', async () => {
  const plugin = await copyPlugin('full-plugin');
  const { open } = await import('node:fs/promises');
  const handle = await open(path.join(plugin, 'assets/huge.bin'), 'w');
  const block = Buffer.alloc(1024 * 1024, 'c2f plugin ');
  for (let i = 0; i < 200; i++) await handle.write(block);
  await handle.close();
  const out = await tempDir();
  const report = "process.on('exit', () => process.stderr.write('MAXRSS ' + process.resourceUsage().maxRSS + '\\n'))";
  const result = await run(process.execPath, [
    '--import',
    `data:text/javascript,${encodeURIComponent(report)}`,
    path.join(REPO, 'src', 'cli', 'c2f-plugin.ts'),
    'pack',
    plugin,
    '--out',
    out,
    '--quiet',
    '--max-file-size',
    '256M',
  ]);
  assert.equal(result.code, 0, result.stderr);
  const maxRssMb = Number(/MAXRSS (\d+)/.exec(result.stderr)![1]) / 1024;
  assert.ok(maxRssMb < 200, `peak RSS ${maxRssMb.toFixed(0)} MB for a 200 MB plugin`);
  const verify = await cli(['verify', path.join(out, 'gestor-plugin.zip'), '--quiet']);
  assert.equal(verify.code, 0, verify.stderr);
});
