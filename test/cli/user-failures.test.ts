import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import diagnosticSchema from '../../src/cli/schemas/diagnostic.schema.json' with { type: 'json' };
import failureSchema from '../../src/cli/schemas/failure.schema.json' with { type: 'json' };
import { readZip } from '../../src/plugin/zip-reader.ts';
import { FIXTURES, cli, copyPlugin, tempDir } from '../helpers.ts';

// Every failure a user can cause, through the shipped bundle: one line that names the path or the cause, the
// documented exit code, and with --json the failure schema on stdout. Never a stack trace.

const validateFailure = new Ajv2020({ allErrors: true, strict: true })
  .addSchema(diagnosticSchema)
  .compile(failureSchema);
const FULL = path.join(FIXTURES, 'plugins', 'full-plugin');

function assertOneLine(stderr: string, pattern: RegExp): void {
  assert.equal(stderr.split('\n').filter(Boolean).length, 1, stderr);
  assert.match(stderr, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

async function assertJsonFailure(
  args: string[],
  exitCode: number,
): Promise<{ diagnostics: Array<{ message: string; code: string }> }> {
  const result = await cli([...args, '--json']);
  assert.equal(result.code, exitCode, `${args.join(' ')}: ${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as {
    exitCode: number;
    diagnostics: Array<{ message: string; code: string }>;
  };
  assert.ok(validateFailure(parsed), JSON.stringify(validateFailure.errors));
  assert.equal(parsed.exitCode, exitCode);
  return parsed;
}

test('--version prints the version; an unknown command is a usage error, in the failure schema with --json', async () => {
  const version = await cli(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const unknown = await assertJsonFailure(['publish'], 64);
  assert.equal(unknown.diagnostics[0].message, 'unknown command "publish"');
  await assertJsonFailure(['pack', '--no-such-option', FULL], 64);
});

test('pack: an existing file as --out, a missing --baseline, a missing plugin folder: one line each, exit 10', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'not-a-folder');
  await writeFile(file, 'x');
  const outIsFile = await cli(['pack', FULL, '--out', file, '--quiet']);
  assert.equal(outIsFile.code, 10);
  assertOneLine(outIsFile.stderr, new RegExp(`${file}`));
  const below = await cli(['pack', FULL, '--out', path.join(file, 'sub'), '--quiet']);
  assert.equal(below.code, 10);
  assertOneLine(below.stderr, /a file is in the way where a folder is needed/);
  const baseline = await cli(['pack', FULL, '--out', dir, '--baseline', path.join(dir, 'previous.zip'), '--quiet']);
  assert.equal(baseline.code, 10);
  assertOneLine(
    baseline.stderr,
    /previous\.zip: error: the baseline does not exist: pass the previous release's gestor-plugin\.zip or its db\/data folder/,
  );
  await assertJsonFailure(['pack', path.join(dir, 'no-plugin'), '--out', dir], 10);
});

test('diff and verify: a missing file or a folder is named, exit 10; --json gives the failure schema', async () => {
  const dir = await tempDir();
  const missing = path.join(dir, 'old.zip');
  const diffMissing = await cli(['diff', missing, missing]);
  assert.equal(diffMissing.code, 10);
  assertOneLine(diffMissing.stderr, new RegExp(`${missing}`));
  const diffFolder = await cli(['diff', dir, dir]);
  assert.equal(diffFolder.code, 10);
  assertOneLine(diffFolder.stderr, new RegExp(`${dir}.*(folder|directory)`));
  await assertJsonFailure(['diff', missing, missing], 10);
  await assertJsonFailure(['verify', missing], 10);
  await assertJsonFailure(['verify', dir], 10);
});

test('an output folder inside the plugin is never packed into the zip', async () => {
  const plugin = await copyPlugin('full-plugin');
  const out = path.join(plugin, 'out');
  for (let run = 0; run < 2; run++) {
    const packed = await cli(['pack', plugin, '--out', out, '--quiet']);
    assert.equal(packed.code, 0, packed.stderr);
  }
  const zip = await readZip(path.join(out, 'gestor-plugin.zip'));
  assert.deepEqual(
    zip.entries.filter((e) => e.name.startsWith('out/')).map((e) => e.name),
    [],
  );
});

test('a syntax error in resources.map.php or a layouts.json is a sentence at file:line:column', async () => {
  const plugin = await copyPlugin('full-plugin');
  await writeFile(
    path.join(plugin, 'resources', 'resources.map.php'),
    "<?php\nreturn [\n  'languages' => [\n    'pt-br' => [ 'name' => 'Português' ;\n  ],\n];\n",
  );
  const php = await cli(['pack', plugin, '--out', await tempDir(), '--quiet']);
  assert.equal(php.code, 11);
  assert.match(php.stderr, /resources\/resources\.map\.php:4:\d+: error: /);
  assert.doesNotMatch(php.stderr, /Parse Error|unexpected '/);
  const other = await copyPlugin('full-plugin');
  await mkdir(path.join(other, 'resources', 'pt-br'), { recursive: true });
  await writeFile(path.join(other, 'resources', 'pt-br', 'layouts.json'), '[\n  { "id": "a", "name": "A" },\n]\n');
  const json = await cli(['pack', other, '--out', await tempDir(), '--quiet']);
  assert.equal(json.code, 11, json.stderr);
  assert.match(
    json.stderr,
    /layouts\.json:3:1: error: invalid JSON: "\]" where a value was expected \(a comma before it\? JSON allows no trailing comma\)/,
  );
});

test('the admin commands: an unreachable bot exits 69 (not 78), in the failure schema with --json', async () => {
  const closed = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const env = { C2F_BOT_URL: `http://127.0.0.1:${closed}`, C2F_ADMIN_TOKEN: 'admin-token-long-enough' };
  for (const args of [
    ['hosts', 'list'],
    ['rollouts', 'list'],
  ]) {
    const result = await cli(args, { env });
    assert.equal(result.code, 69, `${args.join(' ')}: ${result.stderr}`);
    assertOneLine(
      result.stderr,
      new RegExp(`cannot reach the bot at http://127\\.0\\.0\\.1:${closed} \\(connection refused\\)`),
    );
  }
  const result = await cli(['hosts', 'list', '--json'], { env });
  assert.equal(result.code, 69, result.stdout + result.stderr);
  assert.ok(validateFailure(JSON.parse(result.stdout)));
});
