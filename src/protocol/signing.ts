import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

// Standard Webhooks signing for every message between the bot and a host: `webhook-id` (the idempotency
// key, the same across retries), `webhook-timestamp` (this attempt, Unix seconds), `webhook-signature`
// (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret during a rotation).

export type SignedHeaders = Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

/** A new host secret: `whsec_` and 32 random bytes in base64. */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function newMessageId(): string {
  return `msg_${randomUUID()}`;
}

/** Signs a body with every given secret (two during a rotation), for one delivery attempt. */
export function signMessage(body: string, secrets: readonly string[], messageId: string, now = new Date()): SignedHeaders {
  if (secrets.length === 0) throw new Error('no secret to sign with');
  const timestamp = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(messageId, timestamp, body)).join(' '),
  };
}

export type Verified = { ok: true; messageId: string; timestamp: number } | { ok: false; reason: string };

/**
 * Verifies a signed body against any of the receiver's secrets; a timestamp more than five minutes away
 * fails. Nothing about the body may be trusted unless this says ok.
 */
export function verifyMessage(body: string | Buffer, headers: Readonly<Record<string, string | string[] | undefined>>, secrets: readonly string[]): Verified {
  const header = (name: string) => {
    const value = headers[name] ?? headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signature = header('webhook-signature');
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' };
  let lastReason = 'no secret configured';
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }, { jsonParse: false });
      return { ok: true, messageId: id, timestamp: Number(timestamp) };
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      lastReason = error.message;
      if (/timestamp/i.test(error.message)) break; // the same for every secret
    }
  }
  return { ok: false, reason: lastReason };
}
