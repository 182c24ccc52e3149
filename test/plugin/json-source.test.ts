import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonSyntaxError, parseJsonSource } from '../../src/plugin/json-source.ts';
import { phpJsonEncode } from '../../src/plugin/php-json-encode.ts';
import { PhpMap } from '../../src/plugin/php-value.ts';

test('reports the line and column of a syntax error', () => {
  assert.throws(
    () => parseJsonSource('{\n  "a": 1,\n}'),
    (error: unknown) => {
      assert.ok(error instanceof JsonSyntaxError);
      assert.equal(error.line, 3);
      assert.equal(error.column, 1);
      return true;
    },
  );
});

test('rejects a byte-order mark, raw control characters and lone surrogates, as json_decode does', () => {
  assert.throws(() => parseJsonSource('\ufeff{}'), /byte-order mark/);
  assert.throws(() => parseJsonSource('["a\u0001"]'), /control character/);
  assert.throws(() => parseJsonSource('["\\ud800"]'), /surrogate/);
});

test('keeps integers exact, floats as floats, and big integers as PHP floats', () => {
  const { php } = parseJsonSource('[9007199254740993, 1.0, 100000000000000000000, -0]');
  assert.deepEqual(php, [9007199254740993n, 1, 1e20, 0n]);
  assert.equal(phpJsonEncode(php, false), '[9007199254740993,1,1.0e+20,0]');
});

test('keeps key order, numeric-looking keys included; a repeated key keeps its first place', () => {
  const { php } = parseJsonSource('{"b": 1, "2": 2, "1": 3, "b": 4}');
  assert.ok(php instanceof PhpMap);
  assert.deepEqual(
    [...php.entries],
    [
      ['b', 4n],
      ['2', 2n],
      ['1', 3n],
    ],
  );
});

test('locates values and keys by JSON pointer', () => {
  const source = parseJsonSource('{\n  "list": [\n    {"id": "x"}\n  ]\n}');
  assert.deepEqual(source.locate('/list/0/id'), { line: 3, column: 12 });
  assert.deepEqual(source.locate('/list/0/id', 'key'), { line: 3, column: 6 });
  assert.deepEqual(source.locate('/list/9'), { line: 2, column: 11 }, 'a missing element points at its parent');
});
