import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChangeFeed, ChangeKind } from '../changes.ts';
import type { Database } from '../store/database.ts';
import { hostSignature } from '../store/hosts.ts';
import { deliveriesSignature } from '../store/notifications.ts';
import { rolloutSignature } from '../store/rollouts.ts';

// Server-sent events for a live page: a `change` event whenever what it shows may have changed. It waits on the
// change feed (the database announces every change, whichever bot process made it). A rollout's page then
// reads one small signature of the rollout, so that a change elsewhere in the same statement is not sent; a
// list (the rollouts) is told at most once every LIST_GAP_MS, however busy the fleet.

const KEEPALIVE_MS = 15_000;
const LIST_GAP_MS = 2000;

export interface StreamDeps {
  db: Database;
  changes: ChangeFeed;
  log?: (fields: Record<string, unknown>, message: string) => void;
}

interface Watched {
  /** Calls `wake` when what the page shows may have changed; returns how to stop. */
  watch(wake: () => void): () => void;
  /** What the page shows, in short: a change is sent only when it differs (none: every wake is sent). */
  signature?: () => Promise<string>;
  /** The least time between two events. */
  gapMs?: number;
  what: string;
}

/** A rollout's page: its rollout and jobs. */
export function streamChanges(
  req: IncomingMessage,
  res: ServerResponse,
  deps: StreamDeps,
  rolloutId: string,
  headers: Record<string, string>,
): void {
  stream(req, res, deps, headers, {
    watch: (wake) => deps.changes.watch(`r:${rolloutId}`, wake),
    signature: async () => (await rolloutSignature(deps.db, rolloutId)) ?? 'gone',
    what: `rollout ${rolloutId}`,
  });
}

/**
 * A list (the rollouts, the fleet, the registry, the events): any change of these kinds, told at most every
 * LIST_GAP_MS, and only when `signature` (if given) says what the page shows changed.
 */
export function streamFollowing(
  req: IncomingMessage,
  res: ServerResponse,
  deps: StreamDeps,
  headers: Record<string, string>,
  kinds: ChangeKind | readonly ChangeKind[],
  what: string,
  signature?: () => Promise<string>,
): void {
  stream(req, res, deps, headers, {
    watch: (wake) => {
      const stops = [kinds].flat().map((kind) => deps.changes.follow(kind, () => wake()));
      return () => {
        for (const stop of stops) stop();
      };
    },
    signature,
    gapMs: LIST_GAP_MS,
    what,
  });
}

/** An endpoint's deliveries: told when they are made ("n:*") and when an attempt is recorded ("n:<target>"). */
export function streamDeliveries(
  req: IncomingMessage,
  res: ServerResponse,
  deps: StreamDeps,
  targetId: string,
  headers: Record<string, string>,
): void {
  stream(req, res, deps, headers, {
    watch: (wake) => deps.changes.watch(`n:${targetId}`, wake),
    signature: () => deliveriesSignature(deps.db, targetId),
    what: `the deliveries of ${targetId}`,
  });
}

/** A host's page: its jobs and what it reported (heartbeats are not announced: the feed's sweep finds them). */
export function streamHost(
  req: IncomingMessage,
  res: ServerResponse,
  deps: StreamDeps,
  hostId: string,
  headers: Record<string, string>,
): void {
  stream(req, res, deps, headers, {
    watch: (wake) => deps.changes.watch(`h:${hostId}`, wake),
    signature: async () => (await hostSignature(deps.db, hostId)) ?? 'gone',
    what: `host ${hostId}`,
  });
}

function stream(
  req: IncomingMessage,
  res: ServerResponse,
  deps: StreamDeps,
  headers: Record<string, string>,
  watched: Watched,
): void {
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
  res.write('retry: 2000\n\n');
  // The page may have been rendered a moment before the stream opened: the first look always reports a change.
  let last = '';
  let busy = false;
  let again = false;
  let failures = 0;
  let lastSent = 0;
  let later: NodeJS.Timeout | undefined;
  const look = async () => {
    if (busy) return void (again = true);
    const wait = lastSent + (watched.gapMs ?? 0) - Date.now();
    if (wait > 0) {
      later ??= setTimeout(() => {
        later = undefined;
        void look();
      }, wait);
      return;
    }
    busy = true;
    try {
      const signature = watched.signature ? await watched.signature() : String(Date.now());
      if (signature !== last) {
        res.write(`event: change\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
        lastSent = Date.now();
      }
      last = signature;
      failures = 0;
    } catch (error) {
      // The store was away for a moment: said once, and the next change or sweep looks again.
      if (failures++ === 0)
        deps.log?.(
          { page: watched.what, reason: (error as Error).message },
          'a live page could not read what it shows',
        );
    } finally {
      busy = false;
      if (again) {
        again = false;
        void look();
      }
    }
  };
  const unwatch = watched.watch(() => void look());
  const keepalive = setInterval(() => res.write(': still here\n\n'), KEEPALIVE_MS);
  void look();
  const stop = () => {
    unwatch();
    clearInterval(keepalive);
    clearTimeout(later);
  };
  req.once('close', stop);
  res.once('close', stop);
}
