import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { signStatement, statementText } from '../../src/plugin/key-statement.ts';
import { formatPublicKey, formatSecretKey, generateKey, keyIdText } from '../../src/plugin/minisign.ts';
import { run, tempDir } from '../helpers.ts';
import { REPOSITORY, runAction, singlePluginRepo } from './run-action.ts';

// The Action signs the package with the publisher's key (an input fed from a secret, masked in the log) and
// attaches gestor-plugin.zip.minisig before the zip, so a bot that requires signatures never sees the zip
// without it; a key statement is attached beside. minisign itself verifies what the Action signed.

const github = new GitHubStandIn();
before(async () => void (await github.start()));
after(() => github.stop());
beforeEach(() => github.repos.clear());

const key = generateKey();
const light = { opslimit: 524_288, memlimit: 16_777_216 };

test('signing-key: the signature is attached first, verifies with minisign, and the key never reaches the log', async () => {
  const workspace = await singlePluginRepo();
  const secretText = formatSecretKey(key);
  const result = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: { 'signing-key': secretText },
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(github.violations.splice(0), []);
  const release = github.releases(REPOSITORY).find((r) => r.tagName === 'v1.2.3')!;
  assert.deepEqual(
    release.assets.map((a) => a.name),
    ['gestor-plugin.zip.minisig', 'gestor-plugin.zip', 'gestor-plugin.zip.sha256'],
  );
  assert.equal(result.outputs['signed-by'], keyIdText(key.keyId));
  const dir = await tempDir('c2f-action-sig-');
  await writeFile(path.join(dir, 'gestor-plugin.zip'), release.assets[1].content);
  await writeFile(path.join(dir, 'gestor-plugin.zip.minisig'), release.assets[0].content);
  await writeFile(path.join(dir, 'key.pub'), formatPublicKey(key));
  const checked = await run('minisign', ['-Vm', path.join(dir, 'gestor-plugin.zip'), '-p', path.join(dir, 'key.pub')]);
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stdout, /Trusted comment: plugin:full-plugin version:1\.2\.3 sha256:[0-9a-f]{64}/);
  const secretLine = secretText.split('\n')[1];
  assert.ok(result.stdout.includes(`::add-mask::`), 'the key is registered as a secret');
  assert.equal(
    result.stdout.split('\n').filter((l) => l.includes(secretLine) && !l.startsWith('::add-mask::')).length,
    0,
  );
});

test('a sealed signing key: its password opens it; without or with a wrong one the step fails with one clear line', async () => {
  const workspace = await singlePluginRepo();
  const sealed = formatSecretKey(key, 'the password', light);
  const missing = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: { 'signing-key': sealed, upload: 'false' },
  });
  assert.notEqual(missing.code, 0);
  assert.match(
    missing.stdout,
    /::error::input "signing-key": the key is sealed with a password: set the "signing-password" input/,
  );
  const wrong = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: { 'signing-key': sealed, 'signing-password': 'not it', upload: 'false' },
  });
  assert.match(wrong.stdout, /::error::input "signing-key": wrong password for the secret key/);
  const right = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: { 'signing-key': sealed, 'signing-password': 'the password', upload: 'false' },
  });
  assert.equal(right.code, 0, right.stdout);
  assert.equal(right.outputs['signed-by'], keyIdText(key.keyId));
});

test('key-statement: the statement and its signature are attached; a file that is not a statement fails the step', async () => {
  const workspace = await singlePluginRepo();
  const successor = generateKey();
  const text = statementText({
    type: 'c2f-publisher-keys',
    plugin: 'full-plugin',
    sequence: 1,
    add: [formatPublicKey(successor).split('\n')[1]],
    retire: [keyIdText(key.keyId)],
  });
  await writeFile(path.join(workspace, 'gestor-plugin.keys'), text);
  await writeFile(path.join(workspace, 'gestor-plugin.keys.minisig'), signStatement(key, text));
  const result = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: { 'signing-key': formatSecretKey(successor), 'key-statement': '.' },
  });
  assert.equal(result.code, 0, result.stdout);
  assert.deepEqual(
    github
      .releases(REPOSITORY)
      .find((r) => r.tagName === 'v1.2.3')!
      .assets.map((a) => a.name),
    [
      'gestor-plugin.zip.minisig',
      'gestor-plugin.keys',
      'gestor-plugin.keys.minisig',
      'gestor-plugin.zip',
      'gestor-plugin.zip.sha256',
    ],
  );
  await writeFile(path.join(workspace, 'gestor-plugin.keys'), '{"type": "something else"}');
  const bad = await runAction({
    workspace,
    apiUrl: github.url,
    event: { name: 'push', tag: 'v1.2.3' },
    inputs: { 'key-statement': 'gestor-plugin.keys', upload: 'false' },
  });
  assert.match(bad.stdout, /::error::input "key-statement": .*gestor-plugin\.keys: the key statement is not one/);
  assert.doesNotMatch(bad.stdout, /zip\.\.\./, 'refused before anything is built');
});
