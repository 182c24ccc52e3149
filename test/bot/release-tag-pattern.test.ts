import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearPattern, pluginFromTag } from '../../src/bot/rollout/release-tag-pattern.ts';

// What a tag names, with the manifest's rules for ids and versions, and repository patterns that can never
// stall the bot.

test("Conn2Flow's tags, a repository's pattern, a single-plugin repository", () => {
  assert.deepEqual(pluginFromTag('plugin-test-plugin-public-v0.1.10'), {
    kind: 'named',
    pluginId: 'test-plugin-public',
    version: '0.1.10',
  });
  assert.deepEqual(pluginFromTag('v1.2.3', { 'plugin-id': 'solo' }), {
    kind: 'named',
    pluginId: 'solo',
    version: '1.2.3',
  });
  assert.equal(pluginFromTag('v1.2.3').kind, 'unnamed');
  assert.equal(pluginFromTag('nightly').kind, 'unnamed');
  const pattern = { 'tag-pattern': '^release-(?<id>[a-z0-9_-]+)@(?<version>\\d+\\.\\d+\\.\\d+)$' };
  assert.deepEqual(pluginFromTag('release-shop@2.0.0', pattern), { kind: 'named', pluginId: 'shop', version: '2.0.0' });
  assert.equal(pluginFromTag('plugin-shop-v2.0.0', pattern).kind, 'unnamed');
});

test('ids and versions a manifest could not have are refused, whatever the tag or pattern says', () => {
  for (const tag of [
    'plugin-evil id-v1.0.0',
    'plugin-"quoted"-v1.0.0',
    'plugin-../../x-v1.0.0',
    'plugin-Upper-v1.0.0',
    `plugin-${'a'.repeat(10_000)}-v1.0.0`,
  ]) {
    const meaning = pluginFromTag(tag);
    assert.notEqual(meaning.kind, 'named', tag.slice(0, 40));
  }
  assert.match((pluginFromTag('plugin-evil id-v1.0.0') as { reason: string }).reason, /"evil id" is not a plugin id/);
  assert.match((pluginFromTag('plugin-x-v1.0.0-beta') as { reason: string }).reason, /x\.y\.z versions only/);
  const loose = { 'tag-pattern': '^r-(?<id>.+)@(?<version>.+)$' };
  assert.match((pluginFromTag('r-../etc@1.0.0', loose) as { reason: string }).reason, /"\.\.\/etc" is not a plugin id/);
});

test('a pattern with nested quantifiers runs in linear time; one that needs backtracking is refused', () => {
  const nested = { 'tag-pattern': '^(?<id>(a+)+)-v(?<version>\\d+\\.\\d+\\.\\d+)$' };
  const started = performance.now();
  for (let i = 0; i < 100; i++) assert.equal(pluginFromTag(`${'a'.repeat(200)}!`, nested).kind, 'unnamed');
  const ms = performance.now() - started;
  assert.ok(ms < 500, `100 adversarial tags took ${ms.toFixed(0)} ms (a backtracking engine takes seconds per tag)`);
  assert.deepEqual(pluginFromTag('aaa-v1.0.0', nested), { kind: 'named', pluginId: 'aaa', version: '1.0.0' });
  for (const pattern of ['^(?<id>a)\\1-v(?<version>.+)$', '^(?=x)(?<id>.+)-v(?<version>.+)$']) {
    const refused = pluginFromTag('x-v1.0.0', { 'tag-pattern': pattern });
    assert.equal(refused.kind, 'invalid');
    assert.match((refused as { reason: string }).reason, /needs backtracking/);
  }
  assert.match(String(linearPattern('(unclosed')), /not a regular expression/);
  assert.match(String(linearPattern('x'.repeat(501))), /longer than 500/);
});
