import { phpSyntaxSentence } from './parser-messages.ts';
import phpParser from 'php-parser';
import type { Diagnostic } from './diagnostics.ts';
import { JsonSyntaxError, parseJsonSource } from './json-source.ts';
import { PhpMap, field, isPhpArray, phpEntries, phpToString, phpTruthy, type PhpValue } from './php-value.ts';

// resources/resources.map.php read as a syntax tree (never executed): only literal arrays and scalars
// are accepted. resources/resources.map.json with the same shape is accepted too.

export const RESOURCE_TYPES = ['layouts', 'pages', 'components', 'variables'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export interface LanguageEntry {
  code: string;
  /** Data file name per resource type, relative to resources/<code>/; only types the map names. */
  data: Partial<Record<ResourceType, string>>;
}

export interface ResourcesMap {
  /** Every language key, in map order (module resources are read for these). */
  languages: string[];
  /** Languages that have a `data` entry, in map order (global resources are read for these). */
  withData: LanguageEntry[];
}

export class MapError extends Error {
  readonly diagnostic: Diagnostic;
  constructor(diagnostic: Diagnostic) {
    super(diagnostic.message);
    this.diagnostic = diagnostic;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: php-parser's AST nodes, narrowed by `kind` where they are read
type PhpNode = { kind: string; loc?: { start: { line: number; column: number } } } & Record<string, any>;

const Engine = (
  phpParser as unknown as { Engine: new (options: object) => { parseCode(code: string, file: string): PhpNode } }
).Engine;

export function parsePhpMap(code: string, file: string): PhpValue {
  const engine = new Engine({
    parser: { php8: true, extractDoc: false, suppressErrors: false },
    ast: { withPositions: true },
  });
  let program: PhpNode;
  try {
    program = engine.parseCode(code, file);
  } catch (error) {
    const e = error as { message: string; lineNumber?: number; columnNumber?: number };
    throw new MapError({
      severity: 'error',
      code: 'resources-map-syntax',
      message: phpSyntaxSentence(e.message),
      file,
      line: e.lineNumber ?? 1,
      column: (e.columnNumber ?? 0) + 1,
    });
  }
  const fail = (node: PhpNode | undefined, message: string): never => {
    const start = node?.loc?.start;
    throw new MapError({
      severity: 'error',
      code: 'resources-map-literal',
      message,
      file,
      line: start?.line ?? 1,
      column: (start?.column ?? 0) + 1,
    });
  };
  const variables = new Map<string, PhpValue>();
  for (const statement of program.children as PhpNode[]) {
    if (statement.kind === 'inline' && /^\s*$/.test(statement.value)) continue;
    if (
      statement.kind === 'expressionstatement' &&
      statement.expression.kind === 'assign' &&
      statement.expression.operator === '=' &&
      statement.expression.left.kind === 'variable' &&
      typeof statement.expression.left.name === 'string'
    ) {
      variables.set(statement.expression.left.name, literal(statement.expression.right, fail));
      continue;
    }
    if (statement.kind === 'return') {
      const expr = statement.expr as PhpNode | null;
      if (expr?.kind === 'variable' && typeof expr.name === 'string') {
        if (!variables.has(expr.name)) fail(expr, `$${expr.name} is returned but never assigned a literal array`);
        return variables.get(expr.name)!;
      }
      if (!expr) fail(statement, 'the map must return an array');
      return literal(expr!, fail);
    }
    fail(
      statement,
      `only literal assignments and "return [...]" are allowed in the resources map (found ${statement.kind}); the map is read, never executed`,
    );
  }
  return fail(undefined, 'the resources map never returns its array: end it with "return [...];"');
}

const NODE_NAMES: Record<string, string> = {
  encapsed: 'a string with interpolated variables',
  variable: 'a variable',
  call: 'a function call',
  include: 'an include',
};

function literal(node: PhpNode, fail: (node: PhpNode, message: string) => never): PhpValue {
  switch (node.kind) {
    case 'string':
      return node.value as string;
    case 'nowdoc':
      return node.value as string;
    case 'number':
      return /^\d+$/.test(node.value) ? BigInt(node.value) : Number(String(node.value).replace(/_/g, ''));
    case 'boolean':
      return node.value as boolean;
    case 'nullkeyword':
      return null;
    case 'unary':
      if ((node.type === '-' || node.type === '+') && node.what.kind === 'number') {
        const value = literal(node.what, fail) as bigint | number;
        return node.type === '-' ? -value : value;
      }
      break;
    case 'array': {
      const map = new PhpMap();
      let next = 0n;
      for (const entry of node.items as PhpNode[]) {
        if (entry?.kind !== 'entry' || entry.byRef || entry.unpack)
          fail(entry ?? node, 'only plain "key => value" entries are allowed');
        let key: string;
        if (entry.key === null) {
          key = String(next++);
        } else {
          const k = literal(entry.key, fail);
          if (typeof k !== 'string' && typeof k !== 'bigint') fail(entry.key, 'array keys must be strings or integers');
          key = String(k);
          if (/^(0|-?[1-9][0-9]*)$/.test(key) && BigInt(key) >= next) next = BigInt(key) + 1n;
        }
        map.set(key, literal(entry.value, fail));
      }
      return map;
    }
  }
  const what = NODE_NAMES[node.kind] ?? `"${node.kind}"`;
  return fail(node, `only literal values are allowed in the resources map, found ${what}`);
}

export function parseJsonMap(text: string, file: string): PhpValue {
  try {
    return parseJsonSource(text).php;
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new MapError({
      severity: 'error',
      code: 'resources-map-syntax',
      message: error.message,
      file,
      line: error.line,
      column: error.column,
    });
  }
}

/** Interprets the map the way update-data-resources-plugin.php does. */
export function interpretMap(map: PhpValue, file: string, diagnostics: Diagnostic[]): ResourcesMap {
  const languages = field(map, 'languages');
  if (languages === undefined || languages === null) {
    throw new MapError({
      severity: 'error',
      code: 'resources-map-languages',
      message: "the map has no \"languages\" key: return ['languages' => ['pt-br' => ['data' => [...]]]]",
      file,
    });
  }
  if (!isPhpArray(languages)) {
    throw new MapError({
      severity: 'error',
      code: 'resources-map-languages',
      message: '"languages" must be an array keyed by language code',
      file,
    });
  }
  const result: ResourcesMap = { languages: [], withData: [] };
  for (const [code, info] of phpEntries(languages)) {
    result.languages.push(code);
    const data = field(info, 'data');
    if (!phpTruthy(info) || data === undefined || data === null) {
      diagnostics.push({
        severity: 'warning',
        code: 'resources-map-no-data',
        message: `language "${code}" has no "data" entry: its global resources are skipped`,
        file,
      });
      continue;
    }
    const entry: LanguageEntry = { code, data: {} };
    for (const type of RESOURCE_TYPES) {
      const name = field(data, type);
      if (!phpTruthy(name)) continue;
      if (typeof name !== 'string') {
        throw new MapError({
          severity: 'error',
          code: 'resources-map-data',
          message: `languages.${code}.data.${type} must be a file name, found ${phpToString(name as PhpValue) || typeof name}`,
          file,
        });
      }
      entry.data[type] = name;
    }
    result.withData.push(entry);
  }
  return result;
}
