import { parse, type AnyNode, type DocumentNode } from '@humanwhocodes/momoa';
import { jsonSyntaxSentence } from './parser-messages.ts';
import { PhpMap, type PhpValue } from './php-value.ts';

// One JSON file read the way PHP's json_decode reads it (strict JSON, UTF-8, no BOM). Values come from the
// engine's JSON.parse (fast, light), with each number's source text to tell integers from floats; the
// position-aware syntax tree (momoa) is built only when a position is asked for, or when an object has
// integer-like keys, whose order only the tree preserves.

export interface Position {
  line: number;
  column: number;
}

export class JsonSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(message: string, position: Position) {
    super(message);
    this.line = position.line;
    this.column = position.column;
  }
}

export interface JsonSource {
  text: string;
  /** The value as plain JSON (what ajv validates). */
  json: unknown;
  /** The value as PHP's json_decode($text, true) would hold it. */
  php: PhpValue;
  /** The position of the value, or the key, at a JSON pointer (`/a/0/b`); the nearest existing parent otherwise. */
  locate(pointer: string, at?: 'value' | 'key'): Position;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const INTEGER_KEY = /^(0|[1-9][0-9]*)$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function parseJsonSource(text: string): JsonSource {
  if (text.startsWith('\ufeff')) {
    throw new JsonSyntaxError(
      "starts with a UTF-8 byte-order mark, which PHP's json_decode rejects; save the file without BOM",
      { line: 1, column: 1 },
    );
  }
  let doc: DocumentNode | undefined;
  const tree = (): DocumentNode => {
    if (doc) return doc;
    try {
      return (doc = parse(text, { mode: 'json' }));
    } catch (error) {
      const e = error as { message: string; line?: number; column?: number };
      throw new JsonSyntaxError(jsonSyntaxSentence(e.message.replace(/ \(\d+:\d+\)\.?$/, '')), {
        line: e.line ?? 1,
        column: e.column ?? 1,
      });
    }
  };
  let php: PhpValue;
  let needsTree = false;
  try {
    php = JSON.parse(text, function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
      if (typeof value === 'number') return phpNumber(context?.source ?? String(value));
      if (typeof value === 'string') {
        if (LONE_SURROGATE.test(value)) needsTree = true;
        return value;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof PhpMap) return value;
      const entries = Object.entries(value as Record<string, PhpValue>);
      if (entries.some(([key]) => INTEGER_KEY.test(key))) needsTree = true;
      return PhpMap.of(entries);
    } as (key: string, value: unknown) => unknown) as PhpValue;
  } catch {
    // The tree walk reports the positioned error (syntax, raw control character) that JSON.parse found.
    toPhp(tree().body, text);
    throw new JsonSyntaxError('invalid JSON', { line: 1, column: 1 });
  }
  if (needsTree) php = toPhp(tree().body, text);
  return {
    text,
    get json() {
      return toPlain(php);
    },
    php,
    locate: (pointer, at = 'value') => {
      const { line, column } = locate(tree().body, pointer, at);
      return { line, column };
    },
  };
}

function phpNumber(raw: string): bigint | number {
  if (/^-?\d+$/.test(raw)) {
    const n = BigInt(raw);
    if (n >= INT64_MIN && n <= INT64_MAX) return n;
  }
  return Number(raw);
}

function toPhp(node: AnyNode, text: string): PhpValue {
  switch (node.type) {
    case 'Null':
      return null;
    case 'Boolean':
      return node.value;
    case 'String': {
      const raw = text.slice(node.loc.start.offset, node.loc.end.offset);
      if (/[\u0000-\u001f]/.test(raw))
        throw new JsonSyntaxError('invalid JSON: unescaped control character in a string', node.loc.start);
      if (LONE_SURROGATE.test(node.value)) {
        throw new JsonSyntaxError('invalid JSON: unpaired UTF-16 surrogate escape', node.loc.start);
      }
      return node.value;
    }
    case 'Number':
      return phpNumber(text.slice(node.loc.start.offset, node.loc.end.offset));
    case 'Array':
      return node.elements.map((element) => toPhp(element.value, text));
    case 'Object': {
      const map = new PhpMap();
      for (const member of node.members) {
        if (member.name.type !== 'String')
          throw new JsonSyntaxError('invalid JSON: object key must be a string', member.loc.start);
        map.set(member.name.value, toPhp(member.value, text));
      }
      return map;
    }
    default:
      throw new JsonSyntaxError(`invalid JSON: unexpected ${node.type}`, node.loc.start);
  }
}

/** PHP values back to plain JSON values (integers beyond 2^53 lose precision, which validation can bear). */
export function toPlain(value: PhpValue): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof PhpMap) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value.entries) out[k] = toPlain(v);
    return out;
  }
  return value;
}

function locate(root: AnyNode, pointer: string, at: 'value' | 'key'): Position {
  const segments =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: AnyNode = root;
  let keyPosition: Position | undefined;
  for (const segment of segments) {
    keyPosition = undefined;
    if (node.type === 'Object') {
      const members = node.members.filter((m) => m.name.type === 'String' && m.name.value === segment);
      const member = members.at(-1);
      if (!member) return node.loc.start;
      keyPosition = member.name.loc.start;
      node = member.value;
    } else if (node.type === 'Array') {
      const element = node.elements[Number(segment)];
      if (!element) return node.loc.start;
      node = element.value;
    } else {
      return node.loc.start;
    }
  }
  return at === 'key' && keyPosition ? keyPosition : node.loc.start;
}
