import { userInfo } from 'node:os';
import { UsageError } from './usage-error.ts';

// The CLI side of the bot's admin API: where the bot is and how to authenticate come from --bot and the
// environment (C2F_BOT_URL, C2F_ADMIN_TOKEN).

/** Network failures, as words. */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved now',
  ETIMEDOUT: 'no answer in time',
  UND_ERR_CONNECT_TIMEOUT: 'no answer in time',
  ECONNRESET: 'the connection was cut',
  EHOSTUNREACH: 'the host cannot be reached',
  ENETUNREACH: 'the network cannot be reached',
  CERT_HAS_EXPIRED: "the bot's TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the bot's TLS certificate is self-signed",
  ERR_TLS_CERT_ALTNAME_INVALID: "the bot's TLS certificate is for another name",
};

export class AdminApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface AdminClient {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** A GET whose answer is copied as it comes (JSON lines) to `out`. */
  stream(path: string, out: NodeJS.WritableStream): Promise<void>;
}

export function adminClient(botUrl: string | undefined, env: NodeJS.ProcessEnv = process.env): AdminClient {
  const base = botUrl ?? env.C2F_BOT_URL;
  if (!base) throw new UsageError('where is the bot? pass --bot URL or set C2F_BOT_URL');
  const token = env.C2F_ADMIN_TOKEN;
  if (!token) throw new UsageError("set C2F_ADMIN_TOKEN to the bot's admin token");
  // Who acts, recorded with every change an operator makes (C2F_OPERATOR, else the login name).
  const operator = (env.C2F_OPERATOR ?? safeUserName()).replace(/[^\x20-\x7e]/g, '?');
  const request = async (method: string, path: string, body: unknown, timeoutMs: number): Promise<Response> => {
    try {
      return await fetch(new URL(path, base), {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-c2f-operator': operator },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new AdminApiError(
        0,
        `cannot reach the bot at ${base} (${NETWORK_ERRORS[cause?.code ?? ''] ?? cause?.message ?? (error as Error).message}): is it running, and is --bot or C2F_BOT_URL right?`,
      );
    }
  };
  return {
    async stream(path, out) {
      const response = await request('GET', path, undefined, 30 * 60_000);
      if (!response.ok || !response.body) {
        const text = await response.text();
        throw new AdminApiError(response.status, (JSON.parse(text || '{}') as { error?: string }).error ?? `the bot answered ${response.status}`);
      }
      for await (const chunk of response.body) if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
    },
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await request(method, path, body, 30_000);
      const text = await response.text();
      let data: unknown;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch {
        data = undefined;
      }
      if (!response.ok) throw new AdminApiError(response.status, (data as { error?: string } | undefined)?.error ?? `the bot answered ${response.status}`);
      return data as T;
    },
  };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}
