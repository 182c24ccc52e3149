import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Diagnostic } from '../../src/plugin/diagnostics.ts';
import { MapError, interpretMap, parseJsonMap, parsePhpMap } from '../../src/plugin/resources-map.ts';

const read = (code: string) => {
  const diagnostics: Diagnostic[] = [];
  return {
    map: interpretMap(parsePhpMap(code, 'resources/resources.map.php'), 'resources/resources.map.php', diagnostics),
    diagnostics,
  };
};

const failure = (code: string): Diagnostic => {
  try {
    parsePhpMap(code, 'resources/resources.map.php');
  } catch (error) {
    assert.ok(error instanceof MapError);
    return error.diagnostic;
  }
  assert.fail('expected an error');
};

test('reads "return [...]" with languages in map order', () => {
  const { map } = read(
    `<?php\nreturn ['languages' => ['pt-br' => ['name' => 'Português', 'data' => ['layouts' => 'layouts.json', 'pages' => 'pages.json'], 'version' => '1'], 'en' => ['data' => ['variables' => 'vars.json']]]];`,
  );
  assert.deepEqual(map.languages, ['pt-br', 'en']);
  assert.deepEqual(map.withData, [
    { code: 'pt-br', data: { layouts: 'layouts.json', pages: 'pages.json' } },
    { code: 'en', data: { variables: 'vars.json' } },
  ]);
});

test('reads "return array(...)" and "$x = [...]; return $x;" with comments', () => {
  const a = read(
    `<?php\n/* c */\nreturn array('languages' => array('en' => array('data' => array('pages' => "pages.json"))));`,
  );
  assert.deepEqual(a.map.withData, [{ code: 'en', data: { pages: 'pages.json' } }]);
  const b = read(
    `<?php\n// mapping\n$resources = [\n\t'languages' => ['en' => ['name' => 'English', 'data' => ['layouts' => 'layouts.json'], 'version' => 1, 'flag' => true, 'n' => -2, 'x' => null]],\n];\n\nreturn $resources;`,
  );
  assert.deepEqual(b.map.languages, ['en']);
});

test('a language without data is skipped for global resources, with a warning', () => {
  const { map, diagnostics } = read(
    `<?php return ['languages' => ['es' => ['name' => 'Español'], 'en' => ['data' => []]]];`,
  );
  assert.deepEqual(map.languages, ['es', 'en']);
  assert.deepEqual(map.withData, [{ code: 'en', data: {} }]);
  assert.equal(diagnostics[0].code, 'resources-map-no-data');
});

test('function calls, includes, variables and interpolation are errors naming the line', () => {
  const cases: Array<[string, number, RegExp]> = [
    [`<?php\nreturn ['languages' => [\n  'en' => ['data' => ['pages' => strtolower('P.json')]]]];`, 3, /function call/],
    [`<?php\n$extra = include 'other.php';\nreturn $extra;`, 2, /include/],
    [`<?php\nreturn ['languages' => ['en' => ['data' => ['pages' => $file]]]];`, 2, /a variable/],
    [`<?php\n\nreturn ['languages' => ['en' => ['name' => "Lang $x"]]];`, 3, /interpolated/],
    [`<?php\necho 'hi';\nreturn [];`, 2, /only literal assignments/],
    [`<?php\n$a = [];`, 1, /never returns/],
    [`<?php\nreturn $missing;`, 2, /never assigned/],
  ];
  for (const [code, line, message] of cases) {
    const d = failure(code);
    assert.equal(d.line, line, code);
    assert.match(d.message, message, code);
    assert.equal(d.file, 'resources/resources.map.php');
  }
});

test('a PHP syntax error names the line', () => {
  const d = failure(`<?php\nreturn ['languages' => [\n  'en' => ['data' => ]\n]];`);
  assert.equal(d.code, 'resources-map-syntax');
  assert.equal(d.line, 3);
});

test('a map without "languages" is an error, as the generator exits 1', () => {
  assert.throws(
    () => read(`<?php return ['langs' => []];`),
    (e: unknown) => e instanceof MapError && e.diagnostic.code === 'resources-map-languages',
  );
});

test('resources.map.json of the same shape is accepted', () => {
  const value = parseJsonMap(
    '{"languages": {"pt-br": {"data": {"layouts": "layouts.json"}}}}',
    'resources/resources.map.json',
  );
  assert.deepEqual(interpretMap(value, 'resources/resources.map.json', []).withData, [
    { code: 'pt-br', data: { layouts: 'layouts.json' } },
  ]);
  assert.throws(() => parseJsonMap('{"languages": ', 'resources/resources.map.json'), MapError);
});
