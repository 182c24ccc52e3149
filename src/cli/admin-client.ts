import { userInfo } from 'node:os';
import { networkErrorInWords } from '../network-errors.ts';
import { UsageError } from './usage-error.ts';

// The CLI side of the bot's admin API: where the bot is and how to authenticate come from --bot and the
// environment (C2F_BOT_URL, C2F_ADMIN_TOKEN).

export class AdminApiError extends Error {
  readonly status: number;
  /** The bot runs but its GitHub App is not registered yet (setup mode). */
  readonly setupMode: boolean;
  constructor(status: number, message: string, setupMode = false) {
    super(message);
    this.status = status;
    this.setupMode = setupMode;
  }
}

/** The error an answer that is not 2xx stands for (its JSON `error`, or the status). */
function answerError(status: number, data: unknown): AdminApiError {
  const body = (data ?? {}) as { error?: unknown; setupMode?: unknown };
  return new AdminApiError(
    status,
    typeof body.error === 'string' ? body.error : `the bot answered ${status}`,
    body.setupMode === true,
  );
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
        `cannot reach the bot at ${base} (${networkErrorInWords(cause?.code, cause?.message ?? (error as Error).message)}): is it running, and is --bot or C2F_BOT_URL right?`,
      );
    }
  };
  return {
    async stream(path, out) {
      const response = await request('GET', path, undefined, 30 * 60_000);
      if (!response.ok || !response.body) throw answerError(response.status, parseJson(await response.text()));
      for await (const chunk of response.body)
        if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
    },
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await request(method, path, body, 30_000);
      const data = parseJson(await response.text());
      if (!response.ok) throw answerError(response.status, data);
      return data as T;
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}
