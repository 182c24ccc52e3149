import { PhpMap, formatPhpFloat, type PhpValue } from './php-value.ts';

// PHP's json_encode with JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE, byte for byte (and, with
// pretty = false, plain JSON_UNESCAPED_UNICODE): 4-space indent, `": "`, `\/`, U+2028/U+2029 escaped,
// control characters as lowercase \u00xx, other non-ASCII literal, no trailing newline.
// PHP refuses invalid UTF-8 (json_encode returns false); so do we, by throwing InvalidUtf8Error.

export type Encodable = PhpValue | undefined | { readonly [key: string]: Encodable } | readonly Encodable[];

export class InvalidUtf8Error extends Error {
  constructor() {
    super('string is not valid UTF-8');
  }
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

// Lone surrogates are what a JS string holds where the source bytes were not valid UTF-8.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// U+FFFD is also what TextDecoder substitutes for invalid bytes; strings we build from bytes are checked
// at the byte level (isValidUtf8) before they ever reach the encoder.
const NEEDS_ESCAPE = /["\\/\u0000-\u001f\u2028\u2029]/g;

export function encodePhpString(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new InvalidUtf8Error();
  return `"${value.replace(NEEDS_ESCAPE, (ch) => SHORT_ESCAPES[ch] ?? `\\u00${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

function isList(map: PhpMap): boolean {
  let expected = 0;
  for (const key of map.entries.keys()) if (key !== String(expected++)) return false;
  return true;
}

export function phpJsonEncode(value: Encodable, pretty = true): string {
  const parts: string[] = [];
  write(value, '', pretty, parts);
  return parts.join('');
}

function write(value: Encodable, indent: string, pretty: boolean, out: string[]): void {
  if (value === null || value === undefined) return void out.push('null');
  if (value === true) return void out.push('true');
  if (value === false) return void out.push('false');
  if (typeof value === 'string') return void out.push(encodePhpString(value));
  if (typeof value === 'bigint') return void out.push(value.toString());
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('Inf and NaN cannot be JSON encoded');
    return void out.push(formatPhpFloat(value));
  }
  if (Array.isArray(value)) return writeList(value as readonly Encodable[], indent, pretty, out);
  if (value instanceof PhpMap) {
    if (isList(value)) return writeList([...value.entries.values()], indent, pretty, out);
    return writeObject([...value.entries], indent, pretty, out);
  }
  return writeObject(Object.entries(value as { [key: string]: Encodable }), indent, pretty, out);
}

function writeList(items: readonly Encodable[], indent: string, pretty: boolean, out: string[]): void {
  if (items.length === 0) return void out.push('[]');
  const inner = indent + '    ';
  out.push('[');
  items.forEach((item, i) => {
    if (i > 0) out.push(',');
    if (pretty) out.push('\n', inner);
    write(item, inner, pretty, out);
  });
  if (pretty) out.push('\n', indent);
  out.push(']');
}

function writeObject(pairs: ReadonlyArray<readonly [string, Encodable]>, indent: string, pretty: boolean, out: string[]): void {
  if (pairs.length === 0) return void out.push('{}');
  const inner = indent + '    ';
  out.push('{');
  pairs.forEach(([key, item], i) => {
    if (i > 0) out.push(',');
    if (pretty) out.push('\n', inner);
    out.push(encodePhpString(key), pretty ? ': ' : ':');
    write(item, inner, pretty, out);
  });
  if (pretty) out.push('\n', indent);
  out.push('}');
}
