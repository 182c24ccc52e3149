import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeInventory } from '../../src/bot/store/inventory.ts';

// The bot keeps the newest word about each plugin: a heartbeat speaks for all of them at its time, a report
// for its own plugin at its time.

const t = (s: number) => new Date(Date.UTC(2026, 10, 29, 12, 0, s)).toISOString();

test('a heartbeat replaces what is older and drops plugins it no longer lists', () => {
  const current = [
    { pluginId: 'a', version: '1.0.0', sha256: null, at: t(0) },
    { pluginId: 'b', version: '1.0.0', sha256: null, at: t(0) },
  ];
  assert.deepEqual(mergeInventory(current, [{ pluginId: 'a', version: '1.1.0', sha256: null }], t(10), 'all'), [
    { pluginId: 'a', version: '1.1.0', sha256: null, at: t(10) },
  ]);
});

test('a report newer than the last heartbeat wins for its plugin; a late heartbeat does not undo it', () => {
  const afterReport = mergeInventory(
    [{ pluginId: 'a', version: '1.0.0', sha256: null, at: t(0) }],
    [{ pluginId: 'a', version: '2.0.0', sha256: 'f'.repeat(64) }],
    t(20),
    'a',
  );
  assert.deepEqual(afterReport, [{ pluginId: 'a', version: '2.0.0', sha256: 'f'.repeat(64), at: t(20) }]);
  const lateBeat = mergeInventory(
    afterReport,
    [
      { pluginId: 'a', version: '1.0.0', sha256: null },
      { pluginId: 'b', version: '3.0.0', sha256: null },
    ],
    t(15),
    'all',
  );
  assert.deepEqual(
    lateBeat.map((e) => [e.pluginId, e.version]),
    [
      ['a', '2.0.0'],
      ['b', '3.0.0'],
    ],
  );
});

test('a report only speaks for its plugin; an uninstall removes it; a problem is kept', () => {
  const current = [
    { pluginId: 'a', version: '1.0.0', sha256: null, at: t(0) },
    { pluginId: 'b', version: '1.0.0', sha256: null, at: t(0) },
  ];
  assert.deepEqual(
    mergeInventory(current, [{ pluginId: 'a', version: null, sha256: null }], t(5), 'a').map((e) => e.pluginId),
    ['b'],
  );
  const problem = mergeInventory(
    current,
    [{ pluginId: 'a', version: null, sha256: null, problem: 'files missing' }],
    t(5),
    'a',
  );
  assert.deepEqual(problem[0], { pluginId: 'a', version: null, sha256: null, problem: 'files missing', at: t(5) });
});
