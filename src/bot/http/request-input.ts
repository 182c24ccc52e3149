import type { IncomingMessage } from 'node:http';

// What the console and the admin API read from a request (path segments, query parameters, cookies), parsed in
// one place: anything malformed (a broken percent-escape, a control character, a number past what the store
// holds) is an InputError, answered 400 with its sentence, before any of it reaches a query.

export class InputError extends Error {}

const CONTROL = /[\u0000-\u001f\u007f]/;
/** Ids, pages and event ids: a bigint column holds no more. */
const MAX_INTEGER = Number.MAX_SAFE_INTEGER;

/** One segment of a path, decoded; InputError when it is malformed or holds a control character. */
export function pathSegment(text: string): string {
  return decoded(text, 'the path');
}

function decoded(text: string, what: string): string {
  let value: string;
  try {
    value = decodeURIComponent(text);
  } catch {
    throw new InputError(`${what} is not valid percent-encoding`);
  }
  if (CONTROL.test(value)) throw new InputError(`${what} holds a control character`);
  return value;
}

export class RequestInput {
  readonly url: URL;
  readonly path: string;

  constructor(req: IncomingMessage) {
    this.url = new URL(req.url ?? '/', 'http://bot');
    this.path = this.url.pathname.replace(/\/+$/, '') || '/';
  }

  /** The path's segments after the first `skip`, each decoded. */
  segments(skip: number): string[] {
    return this.path
      .split('/')
      .slice(skip)
      .map((segment) => decoded(segment, 'the path'));
  }

  /** A text parameter (at most `max` characters, no control characters); undefined when absent or empty. */
  text(name: string, max = 200): string | undefined {
    const value = this.url.searchParams.get(name);
    if (value === null || value === '') return undefined;
    if (value.length > max) throw new InputError(`"${name}" is at most ${max} characters`);
    if (CONTROL.test(value)) throw new InputError(`"${name}" holds a control character`);
    return value;
  }

  /** A whole-number parameter within [min, max]; `fallback` when absent. */
  integer(name: string, fallback: number, min?: number, max?: number): number;
  integer(name: string, fallback: undefined, min?: number, max?: number): number | undefined;
  integer(name: string, fallback: number | undefined, min = 1, max = MAX_INTEGER): number | undefined {
    const value = this.url.searchParams.get(name);
    if (value === null || value === '') return fallback;
    if (!/^\d{1,16}$/.test(value) || Number(value) < min || Number(value) > max)
      throw new InputError(`"${name}" is a whole number from ${min} to ${max}`);
    return Number(value);
  }

  flag(name: string): boolean {
    return this.url.searchParams.get(name) === 'true';
  }
}

/** The request's cookies; one that is not valid percent-encoding (another site's, on a shared domain) is kept as it came. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const raw = part.slice(at + 1).trim();
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {}
    cookies[part.slice(0, at).trim()] = value;
  }
  return cookies;
}
