import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { signMessage } from '../../protocol/signing.ts';
import { isForbiddenAddress } from '../host-url.ts';

// One signed POST to a host: a timeout on everything, no redirects, and (unless the host is allowed on a
// private network) a connection only to public addresses, checked on the address actually dialled, so a
// DNS answer cannot smuggle the push to loopback or the internal network.

export type PushOutcome =
  | {
      kind: 'delivered';
      status: number;
      body: string;
      headers: Readonly<Record<string, string | string[] | undefined>>;
    }
  | { kind: 'refused'; status: 409; reason: string }
  | { kind: 'gone'; status: 410 }
  | { kind: 'retry'; status?: number; error: string; retryAfterSeconds?: number }
  | { kind: 'failed'; status?: number; error: string };

export interface PushRequest {
  url: string;
  body: string;
  secrets: readonly string[];
  messageId: string;
  allowPrivateNetwork: boolean;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 64 * 1024;

class ForbiddenAddressError extends Error {}

function safeLookup(
  hostname: string,
  options: object,
  callback: (
    error: Error | null,
    address: string | Array<{ address: string; family: number }>,
    family?: number,
  ) => void,
): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const allowed = addresses.filter((a) => !isForbiddenAddress(a.address));
    if (!allowed.length)
      return callback(
        new ForbiddenAddressError(
          `${hostname} resolves only to loopback or private addresses (${addresses.map((a) => a.address).join(', ')}); allow the host on a private network if that is intended`,
        ),
        [],
      );
    if ((options as { all?: boolean }).all) return callback(null, allowed);
    return callback(null, allowed[0].address, allowed[0].family);
  });
}

const publicAgent = new Agent({ connect: { lookup: safeLookup as never }, keepAliveTimeout: 10_000, connections: 64 });
const privateAgent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

export async function pushMessage(push: PushRequest, dispatcher?: Dispatcher): Promise<PushOutcome> {
  const timeout = push.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // An address written in the URL is dialled without a lookup, so it is checked here.
  const literal = new URL(push.url).hostname.replace(/^\[|\]$/g, '');
  if (!push.allowPrivateNetwork && isIP(literal) && isForbiddenAddress(literal)) {
    return {
      kind: 'failed',
      error: `${literal} is not a public address; allow the host on a private network if that is intended`,
    };
  }
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'conn2flow-plugin-release-bot',
    ...signMessage(push.body, push.secrets, push.messageId),
  };
  let response: Dispatcher.ResponseData;
  try {
    response = await request(push.url, {
      method: 'POST',
      headers,
      body: push.body,
      dispatcher: dispatcher ?? (push.allowPrivateNetwork ? privateAgent : publicAgent),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout * 2),
    });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    if (cause instanceof ForbiddenAddressError) return { kind: 'failed', error: cause.message };
    return { kind: 'retry', error: describeNetworkError(error as Error) };
  }
  const body = await readLimited(response.body);
  const status = response.statusCode;
  if (status >= 200 && status < 300) return { kind: 'delivered', status, body, headers: response.headers };
  if (status === 409) return { kind: 'refused', status, reason: reasonFrom(body) ?? 'the host refused the job' };
  if (status === 410) return { kind: 'gone', status };
  if (status >= 300 && status < 400)
    return {
      kind: 'retry',
      status,
      error: `the host answered ${status} (a redirect, which pushes never follow): fix the host's URL`,
    };
  if (status === 429 || status >= 500 || status === 401 || status === 408) {
    return {
      kind: 'retry',
      status,
      error: `the host answered ${status}${reasonFrom(body) ? `: ${reasonFrom(body)}` : ''}`,
      retryAfterSeconds: retryAfter(response.headers['retry-after']),
    };
  }
  return {
    kind: 'failed',
    status,
    error: `the host answered ${status}${reasonFrom(body) ? `: ${reasonFrom(body)}` : ''}`,
  };
}

/** The answer's text, up to MAX_ANSWER_BYTES (the rest is dropped); read with listeners, the cheapest way per push. */
function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const text = () => Buffer.concat(chunks).toString('utf8');
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ANSWER_BYTES) return void chunks.push(chunk);
      body.destroy();
      resolve(text());
    });
    body.once('end', () => resolve(text()));
    body.once('error', reject);
  });
}

function reasonFrom(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { reason?: unknown; error?: unknown };
    const reason = parsed.reason ?? parsed.error;
    return typeof reason === 'string' ? reason.slice(0, 500) : undefined;
  } catch {
    return body ? body.slice(0, 200) : undefined;
  }
}

/** Retry-After in seconds (delta or HTTP date), capped at a day. */
export function retryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : Math.ceil((Date.parse(value) - Date.now()) / 1000);
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), 86_400) : undefined;
}

function describeNetworkError(error: Error): string {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (error.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return 'the host did not answer in time';
  if (code === 'ECONNREFUSED') return 'connection refused: the agent is not listening';
  if (code === 'ENOTFOUND') return 'the host name does not resolve';
  return `${code ?? error.name}: ${error.message}`;
}
