import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printable, printableJson } from '../../src/printable.ts';

// One rule for the terminal and the console: C0, C1 and bidirectional controls become visible escapes.

test('C0, C1 and bidi controls are escaped; tab, newline and ordinary text stay', () => {
  assert.equal(printable('a\u001b[2Jb'), 'a\\u001b[2Jb');
  assert.equal(printable('csi\u009b31m'), 'csi\\u009b31m');
  assert.equal(printable('shop\u202egnp.exe'), 'shop\\u202egnp.exe');
  assert.equal(printable('x\u2066y\u2069'), 'x\\u2066y\\u2069');
  assert.equal(printable('línea\tuno\ndos ✓'), 'línea\tuno\ndos ✓');
  const json = printableJson(JSON.stringify({ name: 'shop\u202e\u009b' }));
  assert.equal(json, '{"name":"shop\\u202e\\u009b"}');
  assert.deepEqual(JSON.parse(json), { name: 'shop\u202e\u009b' }, 'the same value once parsed');
});
