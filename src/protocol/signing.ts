import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

// Standard Webhooks signing for every message between the bot and a host: `webhook-id` (the idempotency
// key, the same across retries), `webhook-timestamp` (this attempt, Unix seconds), `webhook-signature`
// (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret during a rotation).

const PREFIX = 'whsec_';
const TOLERANCE_SECONDS = 5 * 60;

export type SignedHeaders = Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

/** A new host secret: `whsec_` and 32 random bytes in base64. */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function newMessageId(): string {
  return `msg_${randomUUID()}`;
}

/** Signs a body with every given secret (two during a rotation), for one delivery attempt. */
export function signMessage(
  body: string,
  secrets: readonly string[],
  messageId: string,
  now = new Date(),
): SignedHeaders {
  if (secrets.length === 0) throw new Error('no secret to sign with');
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': secrets
      .map((secret) => `v1,${signature(secretKey(secret), messageId, Math.floor(now.getTime() / 1000), body)}`)
      .join(' '),
  };
}

export type Verified = { ok: true; messageId: string; timestamp: number } | { ok: false; reason: string };

/**
 * Verifies a signed body against any of the receiver's secrets; a timestamp more than five minutes away
 * fails. Nothing about the body may be trusted unless this says ok.
 */
export function verifyMessage(
  body: string | Buffer,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  secrets: readonly string[],
): Verified {
  const header = (name: string) => {
    const value = headers[name] ?? headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signatures = header('webhook-signature');
  if (!id || !timestamp || !signatures)
    return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' };
  if (!secrets.length) return { ok: false, reason: 'no secret configured' };
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'the webhook-timestamp header is not a number of seconds' };
  const seconds = Number(timestamp);
  const now = Math.floor(Date.now() / 1000);
  if (now - seconds > TOLERANCE_SECONDS)
    return { ok: false, reason: 'message timestamp too old (more than five minutes)' };
  if (seconds - now > TOLERANCE_SECONDS)
    return { ok: false, reason: 'message timestamp too new (more than five minutes ahead)' };
  const given = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3)));
  for (const secret of secrets) {
    const expected = Buffer.from(signature(secretKey(secret), id, seconds, body));
    if (given.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected)))
      return { ok: true, messageId: id, timestamp: seconds };
  }
  return { ok: false, reason: 'no matching signature found' };
}

/** The key of a `whsec_` secret: the bytes its base64 names. */
function secretKey(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  if (key.length === 0) throw new Error("a signing secret can't be empty");
  return key;
}

/** Base64 HMAC-SHA256 of `id.timestamp.body`, the body as its bytes. */
function signature(key: Buffer, messageId: string, seconds: number, body: string | Buffer): string {
  return createHmac('sha256', key).update(`${messageId}.${seconds}.`).update(body).digest('base64');
}
