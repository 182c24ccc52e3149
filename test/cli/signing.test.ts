import assert from 'node:assert/strict';
import { copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import diagnosticSchema from '../../src/cli/schemas/diagnostic.schema.json' with { type: 'json' };
import verifySchema from '../../src/cli/schemas/verify-result.schema.json' with { type: 'json' };
import { formatSecretKey, generateKey } from '../../src/plugin/minisign.ts';
import { FIXTURES, cli, run, tempDir } from '../helpers.ts';

// Publisher signatures from the shipped bundle, checked against minisign itself both ways: our signatures
// verify with `minisign -V`, and a key and signature minisign made verify with `c2f-plugin verify --key`.

const validateVerify = new Ajv2020({ allErrors: true, strict: true }).addSchema(diagnosticSchema).compile(verifySchema);
interface VerifyJson {
  ok: boolean;
  signature: { file: string; ok: boolean; keyId?: string; reason: string };
  diagnostics: { code: string }[];
}

let dir: string;
let zip: string;
let otherZip: string;
let sha256: string;

before(async () => {
  dir = await tempDir('c2f-sign-');
  for (const [name, out] of [
    ['full-plugin', 'full'],
    ['other-plugin', 'other'],
  ]) {
    const packed = await cli(['pack', path.join(FIXTURES, 'plugins', name), '--out', path.join(dir, out), '--quiet']);
    assert.equal(packed.code, 0, packed.stderr);
  }
  zip = path.join(dir, 'full', 'gestor-plugin.zip');
  otherZip = path.join(dir, 'other', 'gestor-plugin.zip');
  sha256 = (await readFile(`${zip}.sha256`, 'utf8')).trim();
});

async function keygen(name: string, env: NodeJS.ProcessEnv = {}, extra: string[] = ['--no-password']) {
  const made = await cli(['keygen', '--out', dir, '--name', name, '--json', ...extra], { env });
  assert.equal(made.code, 0, made.stderr);
  return JSON.parse(made.stdout) as { keyId: string; secretKey: string; publicKey: string; encrypted: boolean };
}

async function verify(args: string[]) {
  const result = await cli(['verify', zip, '--json', ...args]);
  const parsed: VerifyJson = JSON.parse(result.stdout);
  assert.ok(validateVerify(parsed), JSON.stringify(validateVerify.errors));
  return { code: result.code, parsed, stderr: result.stderr };
}

test('keygen writes an owner-only secret key; sign writes gestor-plugin.zip.minisig that minisign -V accepts; verify --key checks it', async () => {
  const key = await keygen('plain');
  assert.equal(key.encrypted, false);
  assert.match(key.keyId, /^[0-9A-F]{16}$/);
  assert.equal((await stat(key.secretKey)).mode & 0o777, 0o600);
  const again = await cli(['keygen', '--out', dir, '--name', 'plain', '--no-password']);
  assert.deepEqual([again.code, again.stderr.trim().split('\n').length], [64, 1]);
  assert.match(again.stderr, /exists; --force replaces it/);

  const signed = await cli(['sign', zip, '--key', key.secretKey, '--json']);
  assert.equal(signed.code, 0, signed.stderr);
  const claims = JSON.parse(signed.stdout);
  assert.deepEqual(
    [claims.signature, claims.keyId, claims.pluginId, claims.version, claims.sha256],
    [`${zip}.minisig`, key.keyId, 'full-plugin', '1.2.3', sha256],
  );

  const theirs = await run('minisign', ['-Vm', zip, '-p', key.publicKey]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.match(
    theirs.stdout,
    new RegExp(`Trusted comment: plugin:full-plugin version:1\\.2\\.3 sha256:${sha256} timestamp:\\d+`),
  );

  const ours = await verify(['--key', key.publicKey]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.deepEqual(ours.parsed.signature, { file: `${zip}.minisig`, ok: true, keyId: key.keyId });
  const line = (await readFile(key.publicKey, 'utf8')).split('\n')[1];
  assert.equal((await verify(['--key', line])).code, 0, 'the base64 line alone is a key too');
  const human = await cli(['verify', zip, '--key', key.publicKey]);
  assert.match(human.stdout, new RegExp(`gestor-plugin\\.zip\\.minisig: signed by key ${key.keyId}`));
});

test('a key and a signature made by minisign verify here; a trusted comment that is not ours is refused (49)', async () => {
  const secret = path.join(dir, 'theirs.key');
  const pub = path.join(dir, 'theirs.pub');
  const made = await run('minisign', ['-G', '-W', '-s', secret, '-p', pub]);
  assert.equal(made.code, 0, made.stderr);
  const signature = path.join(dir, 'theirs.minisig');
  const signedByThem = await run('minisign', [
    '-S',
    '-W',
    '-s',
    secret,
    '-x',
    signature,
    '-t',
    `plugin:full-plugin version:1.2.3 sha256:${sha256} timestamp:1`,
    '-m',
    zip,
  ]);
  assert.equal(signedByThem.code, 0, signedByThem.stderr);
  const accepted = await verify(['--key', pub, '--signature', signature]);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.equal(accepted.parsed.signature.ok, true);

  const plainComment = await run('minisign', ['-S', '-W', '-s', secret, '-x', signature, '-m', zip]);
  assert.equal(plainComment.code, 0, plainComment.stderr);
  const refused = await verify(['--key', pub, '--signature', signature]);
  assert.equal(refused.code, 49);
  assert.match(refused.parsed.signature.reason, /trusted comment names no plugin, version and SHA-256/);

  // minisign's secret key signs here too (kept in the clear, as -W writes it).
  const ourSignature = await cli(['sign', zip, '--key', secret, '--out', signature]);
  assert.equal(ourSignature.code, 0, ourSignature.stderr);
  assert.equal((await run('minisign', ['-Vm', zip, '-x', signature, '-p', pub])).code, 0);
});

test('password-sealed keys: ours opens in minisign and minisign’s opens here (C2F_SIGNING_PASSWORD); a wrong or missing password is one line', async () => {
  const env = { C2F_SIGNING_PASSWORD: 'correct horse battery staple' };
  const key = await keygen('sealed', env, []);
  assert.equal(key.encrypted, true);
  assert.equal((await stat(key.secretKey)).mode & 0o777, 0o600);
  assert.match(await readFile(key.secretKey, 'utf8'), /^untrusted comment: minisign encrypted secret key\n/);
  const byMinisign = path.join(dir, 'by-minisign.minisig');
  // A key minisign 0.11 sealed (with "fixture password") is opened here meanwhile: each side's scrypt (1 GiB,
  // minisign's own limits) runs once, and the two run side by side.
  const theirKey = path.join(FIXTURES, 'minisign', 'sealed-by-minisign.key');
  const theirPub = path.join(FIXTURES, 'minisign', 'sealed-by-minisign.pub');
  const signature = path.join(dir, 'sealed.minisig');
  const [theirs, signed] = await Promise.all([
    run(
      'minisign',
      [
        '-S',
        '-s',
        key.secretKey,
        '-x',
        byMinisign,
        '-t',
        `plugin:full-plugin version:1.2.3 sha256:${sha256}`,
        '-m',
        zip,
      ],
      { input: `${env.C2F_SIGNING_PASSWORD}\n` },
    ),
    cli(['sign', zip, '--key', theirKey, '--out', signature], { env: { C2F_SIGNING_PASSWORD: 'fixture password' } }),
  ]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal((await verify(['--key', key.publicKey, '--signature', byMinisign])).code, 0);
  assert.equal(signed.code, 0, signed.stderr);
  assert.equal((await run('minisign', ['-Vm', zip, '-x', signature, '-p', theirPub])).code, 0);

  // A key sealed with light scrypt limits (minisign opens those as well) keeps the refusals quick.
  const light = path.join(dir, 'light.key');
  await writeFile(light, formatSecretKey(generateKey(), 'the right one', { opslimit: 524_288, memlimit: 16_777_216 }));
  const wrong = await cli(['sign', zip, '--key', light, '--out', signature], {
    env: { C2F_SIGNING_PASSWORD: 'wrong' },
  });
  assert.deepEqual(
    [wrong.code, wrong.stderr.trim()],
    [78, `c2f-plugin sign: ${light}: wrong password for the secret key`],
  );
  const none = await cli(['sign', zip, '--key', light, '--out', signature], { env: { C2F_SIGNING_PASSWORD: '' } });
  assert.equal(none.code, 64);
  assert.match(none.stderr, /the key needs a password: set C2F_SIGNING_PASSWORD/);
  assert.equal(
    (await cli(['sign', zip, '--key', light, '--out', signature], { env: { C2F_SIGNING_PASSWORD: 'the right one' } }))
      .code,
    0,
  );
});

test('signatures that must not pass: missing, truncated, damaged, by another key, for other bytes, another plugin or version, huge', async () => {
  const key = await keygen('refusals');
  const stranger = await keygen('stranger');
  const signature = path.join(dir, 'refusals.minisig');
  assert.equal((await cli(['sign', zip, '--key', key.secretKey, '--out', signature])).code, 0);
  const good = await readFile(signature, 'utf8');
  const [untrusted, line, comment, global] = good.trimEnd().split('\n');
  const bad = async (text: string | null, expected: RegExp, keyFile = key.publicKey) => {
    const file = path.join(dir, 'bad.minisig');
    if (text === null) await rm(file, { force: true });
    else await writeFile(file, text);
    const result = await verify(['--key', keyFile, '--signature', file]);
    assert.equal(result.code, 49, `${expected}: ${JSON.stringify(result.parsed.signature)}`);
    assert.equal(result.parsed.ok, false);
    assert.match(result.parsed.signature.reason, expected);
    assert.ok(result.parsed.diagnostics.some((d: { code: string }) => d.code === 'signature'));
  };
  await bad(null, /^no .*bad\.minisig$/);
  await bad(`${untrusted}\n${line}\n`, /not in minisign format/);
  await bad(`${untrusted}\n${line.slice(0, 40)}\n${comment}\n${global}\n`, /is not a minisign signature/);
  await bad(
    `${untrusted}\n${line}\n${comment.replace('1.2.3', '1.2.4')}\n${global}\n`,
    /trusted comment was changed after signing/,
  );
  await bad(good, /signed by key [0-9A-F]{16}, which is not trusted here/, stranger.publicKey);
  await bad(
    `${untrusted}\n${line}\n${comment}\n${global}\n${'A'.repeat(20_000)}\n`,
    /larger than any minisign signature/,
  );

  const forOther = path.join(dir, 'other.minisig');
  assert.equal((await cli(['sign', otherZip, '--key', key.secretKey, '--out', forOther])).code, 0);
  await bad(await readFile(forOther, 'utf8'), /does not match the file/);

  // The key's owner signing these bytes under another name or version: minisign lets one write any comment.
  const secret = path.join(dir, 'minisign-claims.key');
  const pub = path.join(dir, 'minisign-claims.pub');
  assert.equal((await run('minisign', ['-G', '-W', '-s', secret, '-p', pub])).code, 0);
  for (const [claims, expected] of [
    [`plugin:other-plugin version:1.2.3 sha256:${sha256}`, /for other-plugin 1\.2\.3, not full-plugin 1\.2\.3/],
    [`plugin:full-plugin version:1.0.0 sha256:${sha256}`, /for full-plugin 1\.0\.0, not full-plugin 1\.2\.3/],
    [`plugin:full-plugin version:1.2.3 sha256:${'0'.repeat(64)}`, /for another package/],
  ] as const) {
    assert.equal((await run('minisign', ['-S', '-W', '-s', secret, '-x', signature, '-t', claims, '-m', zip])).code, 0);
    await bad(await readFile(signature, 'utf8'), expected, pub);
  }

  const badKey = await cli(['verify', zip, '--key', 'not-a-key']);
  assert.deepEqual(
    [badKey.code, badKey.stderr.trim()],
    [78, 'c2f-plugin verify: not-a-key: no such file or folder, nor a minisign public key'],
  );
  await copyFile(key.secretKey, path.join(dir, 'secret-as-public.pub'));
  const secretAsPublic = await cli(['verify', zip, '--key', path.join(dir, 'secret-as-public.pub')]);
  assert.equal(secretAsPublic.code, 78);
  assert.equal(secretAsPublic.stderr.trim().split('\n').length, 1);
});

test('keys-statement writes gestor-plugin.keys and a signature by the current key that minisign verifies; bad arguments are one line', async () => {
  const current = await keygen('statement-current');
  const next = await keygen('statement-next');
  const out = await tempDir('c2f-statement-');
  const made = await cli([
    'keys-statement',
    '--key',
    current.secretKey,
    '--plugin',
    'full-plugin',
    '--sequence',
    '3',
    '--add',
    next.publicKey,
    '--retire',
    current.keyId,
    '--out',
    out,
    '--json',
  ]);
  assert.equal(made.code, 0, made.stderr);
  const result = JSON.parse(made.stdout);
  assert.deepEqual([result.signedBy, result.sequence, result.retire], [current.keyId, 3, [current.keyId]]);
  const statement = JSON.parse(await readFile(path.join(out, 'gestor-plugin.keys'), 'utf8'));
  assert.deepEqual(statement, {
    type: 'c2f-publisher-keys',
    plugin: 'full-plugin',
    sequence: 3,
    add: [(await readFile(next.publicKey, 'utf8')).split('\n')[1]],
    retire: [current.keyId],
  });
  const checked = await run('minisign', ['-Vm', path.join(out, 'gestor-plugin.keys'), '-p', current.publicKey]);
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stdout, /Trusted comment: keys plugin:full-plugin sequence:3 sha256:[0-9a-f]{64}/);
  for (const [args, message] of [
    [['--plugin', 'p', '--sequence', '1', '--add', next.publicKey], /--key, --plugin and --sequence are required/],
    [
      ['--key', current.secretKey, '--plugin', 'p', '--sequence', '0', '--add', next.publicKey],
      /--sequence is a whole number from 1/,
    ],
    [
      ['--key', current.secretKey, '--plugin', 'p', '--sequence', '1'],
      /adds \(--add\) or retires \(--retire\) at least one key/,
    ],
    [['--key', current.secretKey, '--plugin', 'p', '--sequence', '1', '--retire', 'nope'], /--retire takes a key id/],
    [
      ['--key', current.secretKey, '--plugin', 'Not An Id', '--sequence', '1', '--retire', current.keyId],
      /the key statement is not one/,
    ],
  ] as const) {
    const refused = await cli(['keys-statement', ...args, '--out', out]);
    assert.equal(refused.code, 64, refused.stderr);
    assert.match(refused.stderr, message);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
  }
});
