import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChangeFeed } from '../changes.ts';
import type { Database } from '../store/database.ts';
import { rolloutSignature } from '../store/rollouts.ts';

// Server-sent events for a rollout's page: a `change` event whenever the rollout or one of its jobs changed.
// It waits on the change feed (the database announces every change, whichever bot process made it), then
// reads one small signature of the rollout so that a change elsewhere in the same statement is not sent.

const KEEPALIVE_MS = 15_000;

export interface StreamDeps {
  db: Database;
  changes: ChangeFeed;
  log?: (fields: Record<string, unknown>, message: string) => void;
}

export function streamChanges(
  req: IncomingMessage,
  res: ServerResponse,
  deps: StreamDeps,
  rolloutId: string,
  headers: Record<string, string>,
): void {
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
  res.write('retry: 2000\n\n');
  // The page may have been rendered a moment before the stream opened: the first look always reports a change.
  let last = '';
  let busy = false;
  let again = false;
  let failures = 0;
  const look = async () => {
    if (busy) return void (again = true);
    busy = true;
    try {
      const signature = (await rolloutSignature(deps.db, rolloutId)) ?? 'gone';
      if (signature !== last) res.write(`event: change\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
      last = signature;
      failures = 0;
    } catch (error) {
      // The store was away for a moment: said once, and the next change or sweep looks again.
      if (failures++ === 0)
        deps.log?.({ rolloutId, reason: (error as Error).message }, 'a live page could not read its rollout');
    } finally {
      busy = false;
      if (again) {
        again = false;
        void look();
      }
    }
  };
  const unwatch = deps.changes.watch(`r:${rolloutId}`, () => void look());
  const keepalive = setInterval(() => res.write(': still here\n\n'), KEEPALIVE_MS);
  void look();
  const stop = () => {
    unwatch();
    clearInterval(keepalive);
  };
  req.once('close', stop);
  res.once('close', stop);
}
