// Text a host sends that a database cannot hold: PostgreSQL's text and jsonb refuse NUL, and a lone UTF-16
// surrogate is not text at all. Each becomes U+FFFD where the message comes in, so an installer that prints
// a NUL byte costs one replaced character, never a report the bot cannot store (and every report behind it).

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The value with every string made storable (objects and arrays copied; nothing else changes). */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return value.replace(UNSTORABLE, '\uFFFD') as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storable(v)])) as T;
  return value;
}
