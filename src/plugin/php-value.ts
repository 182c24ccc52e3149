// A faithful model of what PHP's json_decode($text, true) produces, so that the values we re-encode come
// out exactly as PHP would print them: integers stay integers (bigint), floats stay floats (number),
// objects keep their key order (PhpMap), whatever the keys look like.
// A Buffer is a string held as its raw UTF-8 bytes (resource contents: kept out of the JS heap).
export type PhpValue = null | boolean | string | Buffer | bigint | number | PhpValue[] | PhpMap;

export class PhpMap {
  readonly entries = new Map<string, PhpValue>();

  static of(pairs: Iterable<readonly [string, PhpValue]>): PhpMap {
    const map = new PhpMap();
    for (const [key, value] of pairs) map.set(key, value);
    return map;
  }

  get(key: string): PhpValue | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: PhpValue): this {
    this.entries.set(key, value);
    return this;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** PHP's `$a + $b`: keys of $b that $a lacks are appended; $a's own values win. */
  union(other: Iterable<readonly [string, PhpValue]>): PhpMap {
    const result = PhpMap.of(this.entries);
    for (const [key, value] of other) if (!result.has(key)) result.set(key, value);
    return result;
  }
}

export function isPhpArray(value: PhpValue | undefined): value is PhpValue[] | PhpMap {
  return Array.isArray(value) || value instanceof PhpMap;
}

/** `$array[$key]` for reading; a missing key, or a non-array, reads as undefined. */
export function field(value: PhpValue | undefined, key: string): PhpValue | undefined {
  if (value instanceof PhpMap) return value.get(key);
  if (Array.isArray(value) && /^(0|[1-9][0-9]*)$/.test(key)) return value[Number(key)];
  return undefined;
}

/** `$a['x'] ?? ($a['y'] ?? $fallback)`: the first key whose value is set and not null. */
export function coalesce(value: PhpValue | undefined, keys: readonly string[], fallback: PhpValue = null): PhpValue {
  for (const key of keys) {
    const found = field(value, key);
    if (found !== undefined && found !== null) return found;
  }
  return fallback;
}

/** PHP's truthiness (`if ($x)`). */
export function phpTruthy(value: PhpValue | undefined): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (typeof value === 'string') return value !== '' && value !== '0';
  if (Buffer.isBuffer(value)) return value.length > 1 || (value.length === 1 && value[0] !== 0x30);
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'number') return value !== 0;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof PhpMap) return value.size > 0;
  return true;
}

/** The entries `foreach ($array as $k => $v)` visits, in order. */
export function phpEntries(value: PhpValue[] | PhpMap): Array<[string, PhpValue]> {
  return Array.isArray(value) ? value.map((v, i) => [String(i), v]) : [...value.entries];
}

/** PHP's string conversion, as used when a value is concatenated into a key. */
export function phpToString(value: PhpValue | undefined): string {
  if (value === undefined || value === null || value === false) return '';
  if (value === true) return '1';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return formatPhpFloat(value, 'E');
  return 'Array';
}

/** `(int)$x`. */
export function phpIntCast(value: PhpValue | undefined): bigint {
  if (value === undefined || value === null || value === false) return 0n;
  if (value === true) return 1n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n;
  if (typeof value === 'string') {
    const match = /^[ \t\n\r\v\f]*([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)/.exec(value);
    if (!match) return 0n;
    const numeric = match[1];
    return /^[+-]?\d+$/.test(numeric) ? BigInt(numeric) : phpIntCast(Number(numeric));
  }
  return phpTruthy(value) ? 1n : 0n;
}

function isNumericString(value: string): boolean {
  return /^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$/.test(value);
}

/** PHP 8's `==` for the scalar values a checksum comparison meets. */
export function phpLooseEquals(a: PhpValue | undefined, b: PhpValue | undefined): boolean {
  const x = a === undefined ? null : a;
  const y = b === undefined ? null : b;
  if (x === null && y === null) return true;
  if (x === null || y === null) {
    const other = x === null ? y : x;
    return !phpTruthy(other);
  }
  if (typeof x === 'string' && typeof y === 'string') {
    if (isNumericString(x) && isNumericString(y)) return Number(x) === Number(y);
    return x === y;
  }
  if ((typeof x === 'bigint' || typeof x === 'number') && (typeof y === 'bigint' || typeof y === 'number')) {
    return Number(x) === Number(y);
  }
  if (typeof x === 'boolean' || typeof y === 'boolean') return phpTruthy(x) === phpTruthy(y);
  return x === y;
}

/**
 * A float as PHP prints it with serialize_precision = -1 (php_gcvt in mode 0): the shortest digits that
 * round-trip, fixed notation while the decimal exponent is in [-3, 17], else `d.ddde+N`.
 */
export function formatPhpFloat(value: number, expChar: 'e' | 'E' = 'e'): string {
  if (Number.isNaN(value)) return 'NAN';
  if (!Number.isFinite(value)) return value > 0 ? 'INF' : '-INF';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponent] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const decpt = Number(exponent) + 1; // value = 0.digits × 10^decpt
  if (decpt < -3 || decpt > 17) {
    const e = decpt - 1;
    const fraction = digits.length > 1 ? digits.slice(1) : '0';
    return `${sign}${digits[0]}.${fraction}${expChar}${e < 0 ? '-' : '+'}${Math.abs(e)}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (digits.length <= decpt) return sign + digits + '0'.repeat(decpt - digits.length);
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}
