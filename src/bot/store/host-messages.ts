import type { Queryable } from './database.ts';

// Signed host messages that must act once: a message id is accepted the first time only, for as long as its
// signature could verify (a timestamp at most five minutes away), plus a margin. Shared by every bot process
// through the database.

/** How long message ids are remembered: the signature window on either side, and a margin. */
export const REMEMBER_MINUTES = 15;

/** True the first time a host sends this message id; false for a replay. Prunes old ids now and then. */
export async function firstUse(db: Queryable, hostId: string, messageId: string): Promise<boolean> {
  const rows = await db.query(
    'insert into host_messages (host_id, message_id) values ($1, $2) on conflict do nothing returning message_id',
    [hostId, messageId],
  );
  if (Math.random() < 0.01) await pruneHostMessages(db);
  return rows.length > 0;
}

export async function pruneHostMessages(db: Queryable): Promise<number> {
  const rows = await db.query(
    `delete from host_messages where received_at < now() - interval '${REMEMBER_MINUTES} minutes' returning message_id`,
  );
  return rows.length;
}
