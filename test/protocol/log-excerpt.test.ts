import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logExcerpt, RESTORE_MARKER } from '../../src/protocol/log-excerpt.ts';

// After a restored failure the end of a log is the restore's successful run: the excerpt leads with the
// failed run's own error lines.

test("the failed run's errors lead, ahead of a restore that fills the last lines", () => {
  const failed = [
    '$ php admin-plugins.php --action=update --plugin=p',
    '[info] Processando plugin',
    "SQLSTATE[42000]: 1142 UPDATE command denied to user 'c2f'",
    '[erro] sync aborted',
  ];
  const restore = [
    `${RESTORE_MARKER}p 1.0.0 from the kept package:`,
    ...Array.from({ length: 14 }, (_, i) => `[info] restore step ${i}`),
  ];
  const { cause, tail } = logExcerpt([...failed, ...restore], 12);
  assert.deepEqual(cause, ["SQLSTATE[42000]: 1142 UPDATE command denied to user 'c2f'", '[erro] sync aborted']);
  assert.deepEqual(tail, restore.slice(-12));
});

test('a cause already among the last lines is not repeated; a log without errors has none', () => {
  const log = ['[info] a', 'PHP Fatal error:  Cannot redeclare plugin_process()', '[info] b'];
  assert.deepEqual(logExcerpt(log, 12), { cause: [], tail: log });
  assert.deepEqual(logExcerpt(['[info] ok'], 12).cause, []);
});
