import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PhpMap,
  coalesce,
  field,
  formatPhpFloat,
  phpIntCast,
  phpLooseEquals,
  phpToString,
  phpTruthy,
} from '../../src/plugin/php-value.ts';

test('formats floats like php_gcvt with serialize_precision -1', () => {
  const cases: Array<[number, string]> = [
    [0.5, '0.5'],
    [100, '100'],
    [1e17, '1.0e+17'],
    [1.25e17, '1.25e+17'],
    [0.001, '0.001'],
    [0.0001, '0.0001'],
    [0.00001, '1.0e-5'],
    [-1.5e-10, '-1.5e-10'],
    [123456789.125, '123456789.125'],
    [1e100, '1.0e+100'],
  ];
  for (const [value, expected] of cases) assert.equal(formatPhpFloat(value), expected, String(value));
  assert.equal(formatPhpFloat(1e25, 'E'), '1.0E+25');
});

test('truthiness follows PHP: "0", "", 0, [] and null are false', () => {
  for (const value of ['0', '', 0n, 0, [], new PhpMap(), null, false, undefined])
    assert.equal(phpTruthy(value), false, String(value));
  for (const value of ['a', '00', ' ', 1n, 0.1, ['x'], true]) assert.equal(phpTruthy(value), true, String(value));
});

test('(int) casts strings by their numeric prefix', () => {
  assert.equal(phpIntCast('5'), 5n);
  assert.equal(phpIntCast(' 12abc'), 12n);
  assert.equal(phpIntCast('abc'), 0n);
  assert.equal(phpIntCast('1e3'), 1000n);
  assert.equal(phpIntCast(2.9), 2n);
  assert.equal(phpIntCast(true), 1n);
});

test('== compares numeric strings by value and null with ""', () => {
  assert.equal(phpLooseEquals('abc', 'abc'), true);
  assert.equal(phpLooseEquals('abc', 'abd'), false);
  assert.equal(phpLooseEquals(null, ''), true);
  assert.equal(phpLooseEquals(undefined, ''), true);
  assert.equal(phpLooseEquals(null, 'x'), false);
  assert.equal(phpLooseEquals('1e3', '1000'), true);
  assert.equal(phpLooseEquals('0e123', '0e456'), true, 'PHP treats both as the number 0');
});

test('?? chains skip null and missing keys', () => {
  const item = PhpMap.of([
    ['name', null],
    ['nome', 'Nome'],
    ['id', 'x'],
  ]);
  assert.equal(coalesce(item, ['name', 'nome'], 'fallback'), 'Nome');
  assert.equal(coalesce(item, ['missing'], 'fallback'), 'fallback');
  assert.equal(coalesce('a string', ['id']), null);
  assert.equal(field(['a', 'b'], '1'), 'b');
});

test('+ keeps the left keys and appends the rest', () => {
  const merged = PhpMap.of([
    ['id', 'x'],
    ['language', 'mine'],
  ]).union([
    ['_motivo', 'sem id'],
    ['language', 'pt-br'],
  ]);
  assert.deepEqual(
    [...merged.entries],
    [
      ['id', 'x'],
      ['language', 'mine'],
      ['_motivo', 'sem id'],
    ],
  );
});

test('string conversion for key building', () => {
  assert.equal(phpToString(null), '');
  assert.equal(phpToString(true), '1');
  assert.equal(phpToString(12n), '12');
  assert.equal(phpToString(['x']), 'Array');
});
