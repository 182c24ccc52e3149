import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Probot } from 'probot';
import { sendJson } from '../http/json-answer.ts';

// GitHub's webhooks, the one door anyone on the internet may knock on. A body must be read whole before its
// signature can be checked, so what unsigned requests may cost is bounded as they are read: each body at
// GitHub's cap (25 MB), all bodies in flight together within a byte budget, and the number of requests at
// once; beyond either, the answer is 503 at once (GitHub's failed deliveries are asked for again by the bot's
// redelivery pass). The signature is checked here, before Probot sees anything, and a refused payload is never
// logged: refusals are counted and said at most once a minute.

export interface WebhookLimits {
  /** GitHub caps a webhook payload at 25 MB. */
  bodyBytes: number;
  /** Bytes of all bodies being read or handled at once. */
  bytesInFlight: number;
  /** Webhook requests being read or handled at once. */
  requests: number;
}

export const WEBHOOK_LIMITS: WebhookLimits = {
  bodyBytes: 25 * 1024 * 1024,
  bytesInFlight: 48 * 1024 * 1024,
  requests: 64,
};

const REFUSALS_SAID_EVERY_MS = 60_000;

export class WebhookIntake {
  private readonly probot: Probot;
  private readonly limits: WebhookLimits;
  private bytes = 0;
  private requests = 0;
  private refused = 0;
  private refusedSaidAt = 0;

  constructor(probot: Probot, limits: WebhookLimits = WEBHOOK_LIMITS) {
    this.probot = probot;
    this.limits = limits;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'webhooks are POSTed' });
    if (Number(req.headers['content-length'] ?? 0) > this.limits.bodyBytes)
      return this.refuse(req, res, 413, `a webhook body is at most ${this.limits.bodyBytes} bytes (GitHub's limit)`);
    if (this.requests >= this.limits.requests)
      return this.refuse(req, res, 503, 'too many webhook deliveries at once: try again shortly');
    this.requests++;
    let held = 0;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) {
        held += (chunk as Buffer).length;
        this.bytes += (chunk as Buffer).length;
        if (held > this.limits.bodyBytes)
          return this.refuse(
            req,
            res,
            413,
            `a webhook body is at most ${this.limits.bodyBytes} bytes (GitHub's limit)`,
          );
        if (this.bytes > this.limits.bytesInFlight)
          return this.refuse(req, res, 503, 'too many webhook bytes in flight: try again shortly');
        chunks.push(chunk as Buffer);
      }
      await this.deliver(req, res, Buffer.concat(chunks).toString('utf8'));
    } finally {
      this.requests--;
      this.bytes -= held;
    }
  }

  private async deliver(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const id = header('x-github-delivery');
    const name = header('x-github-event');
    const signature = header('x-hub-signature-256');
    if (!id || !name || !signature)
      return this.rejected(req, res, 400, 'x-github-delivery, x-github-event and x-hub-signature-256 are required');
    if (!(await this.probot.webhooks.verify(body, signature).catch(() => false)))
      return this.rejected(req, res, 401, 'signature does not match the webhook secret');
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return sendJson(res, 400, { error: 'the payload is not JSON' });
    }
    await this.probot.receive({ id, name, payload } as Parameters<Probot['receive']>[0]);
    sendJson(res, 200, { ok: true });
  }

  /** Refuses while the body is still coming: the connection closes after the answer. */
  private refuse(req: IncomingMessage, res: ServerResponse, status: 413 | 503, error: string): void {
    if (!res.headersSent)
      res
        .writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          connection: 'close',
          ...(status === 503 ? { 'retry-after': '10' } : {}),
        })
        .end(JSON.stringify({ error }));
    req.destroy();
  }

  /** A delivery that is not GitHub's: answered, counted, and said at most once a minute (never its payload). */
  private rejected(req: IncomingMessage, res: ServerResponse, status: 400 | 401, error: string): void {
    this.refused++;
    const now = Date.now();
    if (now - this.refusedSaidAt >= REFUSALS_SAID_EVERY_MS) {
      this.probot.log.warn(
        { refused: this.refused, lastFrom: req.socket.remoteAddress, reason: error },
        'webhook deliveries refused (not signed with the webhook secret)',
      );
      this.refused = 0;
      this.refusedSaidAt = now;
    }
    sendJson(res, status, { error });
  }
}
