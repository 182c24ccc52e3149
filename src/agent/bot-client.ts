import { request } from 'undici';
import { networkErrorInWords } from '../network-errors.ts';
import { newMessageId, signMessage } from '../protocol/signing.ts';

// The agent's requests to the bot: signed POSTs with a timeout, redirects not followed, answers read up to
// a limit. A network failure is a value (status 0), not an exception.

export interface BotAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  error?: string;
}

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export async function postSigned(
  url: string,
  body: string,
  secret: string,
  options: { messageId?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<BotAnswer> {
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'c2f-plugin-agent',
    ...signMessage(body, [secret], options.messageId ?? newMessageId()),
  };
  return await postJson(url, body, headers, options.timeoutMs ?? 15_000, options.signal);
}

export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<BotAnswer> {
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: signal
        ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs + 5000)])
        : AbortSignal.timeout(timeoutMs + 5000),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_ANSWER_BYTES) {
        response.body.destroy();
        return { status: 0, body: '', headers: {}, error: `the bot's answer is larger than ${MAX_ANSWER_BYTES} bytes` };
      }
      chunks.push(chunk as Buffer);
    }
    return { status: response.statusCode, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers };
  } catch (error) {
    const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    return { status: 0, body: '', headers: {}, error: e.cause?.code ?? e.code ?? e.cause?.message ?? e.message };
  }
}

/** The `error` field of a JSON answer, or the status. */
export function describeAnswer(answer: BotAnswer): string {
  if (answer.status === 0)
    return `the bot could not be reached (${networkErrorInWords(answer.error, answer.error ?? 'no answer')})`;
  try {
    const parsed = JSON.parse(answer.body) as { error?: string; details?: string[] };
    if (parsed.error)
      return `the bot answered ${answer.status}: ${parsed.error}${parsed.details ? ` (${parsed.details.join('; ')})` : ''}`;
  } catch {}
  return `the bot answered ${answer.status}`;
}
