import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from '../store/database.ts';
import { rolloutSignature } from '../store/rollouts.ts';

// Server-sent events for a rollout's page: a `change` event whenever the rollout or one of its jobs changed.
// It reads the store (every bot process writes there), once a second, one small query, so it follows
// changes made by any process.

const POLL_MS = 1000;
const KEEPALIVE_MS = 15_000;

export function streamChanges(req: IncomingMessage, res: ServerResponse, db: Database, rolloutId: string, headers: Record<string, string>): void {
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
  res.write('retry: 2000\n\n');
  // The page may have been rendered a moment before the stream opened: the first look always reports a change.
  let last: string | undefined = '';
  let quietFor = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const signature = (await rolloutSignature(db, rolloutId)) ?? 'gone';
      if (signature !== last) {
        res.write(`event: change\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
        quietFor = 0;
      } else if ((quietFor += POLL_MS) >= KEEPALIVE_MS) {
        res.write(': still here\n\n');
        quietFor = 0;
      }
      last = signature;
    } catch {
      // the store was away for a moment: the next tick tries again
    } finally {
      busy = false;
    }
  }, POLL_MS);
  const stop = () => clearInterval(timer);
  req.once('close', stop);
  res.once('close', stop);
}
