import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  InvalidUtf8Error,
  encodePhpString,
  phpJsonEncode,
  phpJsonEncodeToBuffer,
} from '../../src/plugin/php-json-encode.ts';
import { PhpMap } from '../../src/plugin/php-value.ts';

// Expected strings are what PHP 8.2 prints for json_encode($x, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE).

test('escapes the slash, quotes and backslashes', () => {
  assert.equal(encodePhpString('a/b"c\\d'), '"a\\/b\\"c\\\\d"');
  assert.equal(encodePhpString('</script>'), '"<\\/script>"');
});

test('uses short escapes for \\b \\f \\n \\r \\t', () => {
  assert.equal(encodePhpString('\b\f\n\r\t'), '"\\b\\f\\n\\r\\t"');
});

test('writes other control characters as lowercase \\u00xx', () => {
  assert.equal(encodePhpString('\u0000\u0001\u001f\u000b'), '"\\u0000\\u0001\\u001f\\u000b"');
});

test('leaves DEL and non-ASCII literal, escapes only U+2028 and U+2029', () => {
  assert.equal(encodePhpString('\u007f é 日本 😀 \ufeff'), '"\u007f é 日本 😀 \ufeff"');
  assert.equal(encodePhpString('a\u2028b\u2029c'), '"a\\u2028b\\u2029c"');
});

test('refuses lone surrogates, as PHP refuses invalid UTF-8', () => {
  assert.throws(() => encodePhpString('bad \ud800 here'), InvalidUtf8Error);
  assert.throws(() => phpJsonEncode(['\udc00']), InvalidUtf8Error);
  assert.equal(encodePhpString('ok \ud83d\ude00'), '"ok 😀"');
});

test('pretty prints with 4 spaces, ": " and no trailing newline', () => {
  const value = PhpMap.of([
    ['a', 1n],
    ['b', [true, false, null]],
    ['c', PhpMap.of([['d', 'x']])],
  ]);
  assert.equal(
    phpJsonEncode(value),
    '{\n    "a": 1,\n    "b": [\n        true,\n        false,\n        null\n    ],\n    "c": {\n        "d": "x"\n    }\n}',
  );
});

test('prints empty arrays as [] and empty objects as {}', () => {
  assert.equal(phpJsonEncode([]), '[]');
  assert.equal(phpJsonEncode(new PhpMap()), '[]', 'json_decode(..., true) turns {} into an empty array');
  assert.equal(phpJsonEncode({}), '{}');
  assert.equal(phpJsonEncode({ x: [], y: {} }), '{\n    "x": [],\n    "y": {}\n}');
});

test('prints a map with keys 0..n-1 in order as a list, like a PHP array', () => {
  assert.equal(
    phpJsonEncode(
      PhpMap.of([
        ['0', 'a'],
        ['1', 'b'],
      ]),
      false,
    ),
    '["a","b"]',
  );
  assert.equal(
    phpJsonEncode(
      PhpMap.of([
        ['1', 'a'],
        ['0', 'b'],
      ]),
      false,
    ),
    '{"1":"a","0":"b"}',
  );
});

test('prints numbers as PHP does', () => {
  // PHP: [1, 10, 0.1, 1.0e+25, 1.0e+17, 10000000000000000, 123456789012345678, 1.0e-5, 0.0001, -0, 1.5e-7, 1.0e+20,
  // 3.14159]
  const floats = [1.0, 10.0, 0.1, 1e25, 1e17, 1e16];
  const ints = [123456789012345678n];
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: a literal to encode, not an approximation of π
  const more = [0.00001, 0.0001, -0, 1.5e-7, 1e20, 3.14159];
  assert.equal(
    phpJsonEncode([...floats, ...ints, ...more], false),
    '[1,10,0.1,1.0e+25,1.0e+17,10000000000000000,123456789012345678,1.0e-5,0.0001,-0,1.5e-7,1.0e+20,3.14159]',
  );
  assert.equal(
    phpJsonEncode([-2.5, 1234.5678, -9223372036854775808n]),
    '[\n    -2.5,\n    1234.5678,\n    -9223372036854775808\n]',
  );
});

test('refuses NaN and infinity, as json_encode does', () => {
  assert.throws(() => phpJsonEncode([Number.NaN]), /Inf and NaN/);
  assert.throws(() => phpJsonEncode([Number.POSITIVE_INFINITY]), /Inf and NaN/);
});

test('the compact form has no spaces (the checksum column)', () => {
  assert.equal(
    phpJsonEncode(
      PhpMap.of([
        ['html', 'a'],
        ['css', ''],
        ['combined', 'b'],
      ]),
      false,
    ),
    '{"html":"a","css":"","combined":"b"}',
  );
});

test('escapes keys like values', () => {
  assert.equal(
    phpJsonEncode(
      PhpMap.of([
        ['a/b', 1n],
        ['\u2028', 2n],
      ]),
      false,
    ),
    '{"a\\/b":1,"\\u2028":2}',
  );
});

test('strings held as UTF-8 bytes are escaped exactly like strings', () => {
  const samples = [
    '',
    'plain',
    'a/b"c\\d',
    '\u0000\u0001\b\f\n\r\t\u001f\u007f',
    'é 日本 😀 \ufeff',
    'x\u2028y\u2029z\u2027\u202a',
    '\u2028',
    '/',
  ];
  for (const sample of samples) {
    assert.equal(phpJsonEncode([Buffer.from(sample)], false), `[${encodePhpString(sample)}]`, JSON.stringify(sample));
  }
  assert.equal(phpJsonEncode([Buffer.from('a/é')], false), '["a\\/é"]');
});

test('large outputs grow the buffer correctly', () => {
  const big = 'x/'.repeat(100_000);
  assert.equal(phpJsonEncode([big, Buffer.from(big)], false), `[${encodePhpString(big)},${encodePhpString(big)}]`);
  assert.ok(phpJsonEncodeToBuffer([big]).equals(Buffer.from(phpJsonEncode([big]))));
});
