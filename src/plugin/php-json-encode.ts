import { PhpMap, formatPhpFloat, type PhpValue } from './php-value.ts';

// PHP's json_encode with JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE, byte for byte (and, with
// pretty = false, plain JSON_UNESCAPED_UNICODE): 4-space indent, `": "`, `\/`, U+2028/U+2029 escaped,
// control characters as lowercase \u00xx, other non-ASCII literal, no trailing newline.
// PHP refuses invalid UTF-8 (json_encode returns false); so do we, by throwing InvalidUtf8Error.
// Output is written straight into one growing byte buffer: large Data.json files (megabytes of HTML held
// as Buffers) are encoded without creating a JavaScript object per piece.

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
const NEEDS_ESCAPE = /["\\/\u0000-\u001f\u2028\u2029]/g;

export function encodePhpString(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new InvalidUtf8Error();
  return `"${value.replace(NEEDS_ESCAPE, (ch) => SHORT_ESCAPES[ch] ?? `\\u00${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}

/** Escapes for single bytes of UTF-8 text; U+2028/U+2029 (E2 80 A8/A9) are handled where they are found. */
const BYTE_ESCAPES: Array<string | undefined> = Array.from({ length: 0x80 }, (_, byte) =>
  byte < 0x20 || byte === 0x22 || byte === 0x5c || byte === 0x2f
    ? encodePhpString(String.fromCharCode(byte)).slice(1, -1)
    : undefined,
);

/** A byte buffer that grows by doubling. */
class ByteSink {
  buffer = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }

  text(value: string): void {
    this.reserve(value.length * 3);
    this.length += this.buffer.write(value, this.length, 'utf8');
  }

  bytes(source: Buffer, start: number, end: number): void {
    this.reserve(end - start);
    this.length += source.copy(this.buffer, this.length, start, end);
  }

  /** A string given as its UTF-8 bytes (already known to be valid), escaped as encodePhpString would. */
  escapedBytes(source: Buffer): void {
    this.text('"');
    let start = 0;
    for (let i = 0; i < source.length; i++) {
      const byte = source[i];
      let replacement: string | undefined;
      let width = 1;
      if (byte < 0x80) replacement = BYTE_ESCAPES[byte];
      else if (byte === 0xe2 && source[i + 1] === 0x80 && (source[i + 2] === 0xa8 || source[i + 2] === 0xa9)) {
        replacement = source[i + 2] === 0xa8 ? '\\u2028' : '\\u2029';
        width = 3;
      }
      if (replacement === undefined) continue;
      this.bytes(source, start, i);
      this.text(replacement);
      i += width - 1;
      start = i + 1;
    }
    this.bytes(source, start, source.length);
    this.text('"');
  }

  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

export function phpJsonEncode(value: Encodable, pretty = true): string {
  return phpJsonEncodeToBuffer(value, pretty).toString('utf8');
}

export function phpJsonEncodeToBuffer(value: Encodable, pretty = true): Buffer {
  const sink = new ByteSink();
  write(value, '', pretty, sink);
  return Buffer.from(sink.result()); // a right-sized copy, so the growth slack is not kept
}

function isList(map: PhpMap): boolean {
  let expected = 0;
  for (const key of map.entries.keys()) if (key !== String(expected++)) return false;
  return true;
}

function write(value: Encodable, indent: string, pretty: boolean, out: ByteSink): void {
  if (value === null || value === undefined) return out.text('null');
  if (value === true) return out.text('true');
  if (value === false) return out.text('false');
  if (typeof value === 'string') return out.text(encodePhpString(value));
  if (Buffer.isBuffer(value)) return out.escapedBytes(value);
  if (typeof value === 'bigint') return out.text(value.toString());
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('Inf and NaN cannot be JSON encoded');
    return out.text(formatPhpFloat(value));
  }
  if (Array.isArray(value)) return writeList(value as readonly Encodable[], indent, pretty, out);
  if (value instanceof PhpMap) {
    if (isList(value)) return writeList([...value.entries.values()], indent, pretty, out);
    return writeObject([...value.entries], indent, pretty, out);
  }
  return writeObject(Object.entries(value as { [key: string]: Encodable }), indent, pretty, out);
}

function writeList(items: readonly Encodable[], indent: string, pretty: boolean, out: ByteSink): void {
  if (items.length === 0) return out.text('[]');
  const inner = `${indent}    `;
  out.text('[');
  items.forEach((item, i) => {
    if (i > 0) out.text(',');
    if (pretty) out.text(`\n${inner}`);
    write(item, inner, pretty, out);
  });
  if (pretty) out.text(`\n${indent}`);
  out.text(']');
}

function writeObject(
  pairs: ReadonlyArray<readonly [string, Encodable]>,
  indent: string,
  pretty: boolean,
  out: ByteSink,
): void {
  if (pairs.length === 0) return out.text('{}');
  const inner = `${indent}    `;
  out.text('{');
  pairs.forEach(([key, item], i) => {
    if (i > 0) out.text(',');
    if (pretty) out.text(`\n${inner}`);
    out.text(encodePhpString(key));
    out.text(pretty ? ': ' : ':');
    write(item, inner, pretty, out);
  });
  if (pretty) out.text(`\n${indent}`);
  out.text('}');
}
