import { createHash } from 'node:crypto';
import type { Queryable } from './database.ts';

// The console's sessions and sign-in states, kept on the server: the cookie names a session, and the session
// counts only while its row says so (not signed out, not revoked, not expired). An OAuth state is taken once.

const hash = (value: string) => createHash('sha256').update(value).digest('hex');

export async function startSession(
  db: Queryable,
  session: { id: string; login: string; viaOrg: boolean; teamRole?: string | null; expiresAt: Date },
): Promise<void> {
  await db.query(
    'insert into console_sessions (id, login, via_org, team_role, expires_at) values ($1, $2, $3, $4, $5)',
    [session.id, session.login, session.viaOrg, session.teamRole ?? null, session.expiresAt],
  );
  await db.query("delete from console_sessions where expires_at < now() - interval '1 day'");
}

/** The live session with this id: its login, whether it entered as an organisation member, its teams' role. */
export async function liveSession(
  db: Queryable,
  id: string,
): Promise<{ login: string; viaOrg: boolean; teamRole: string | null } | undefined> {
  const [row] = await db.query<{ login: string; via_org: boolean; team_role: string | null }>(
    'select login, via_org, team_role from console_sessions where id = $1 and revoked_at is null and expires_at > now()',
    [id],
  );
  return row && { login: row.login, viaOrg: row.via_org, teamRole: row.team_role };
}

export async function endSession(db: Queryable, id: string): Promise<void> {
  await db.query('update console_sessions set revoked_at = now() where id = $1 and revoked_at is null', [id]);
}

/** Ends every live session (an operator's "sign out everyone"); returns how many. */
export async function endAllSessions(db: Queryable): Promise<number> {
  return (
    await db.query(
      'update console_sessions set revoked_at = now() where revoked_at is null and expires_at > now() returning id',
    )
  ).length;
}

export async function rememberState(db: Queryable, state: string, expiresAt: Date): Promise<void> {
  await db.query('insert into console_oauth_states (state_hash, expires_at) values ($1, $2)', [hash(state), expiresAt]);
  await db.query('delete from console_oauth_states where expires_at < now()');
}

/** Takes a state once: true when it was issued here and has not expired or been used. */
export async function takeState(db: Queryable, state: string): Promise<boolean> {
  return (
    (
      await db.query(
        'delete from console_oauth_states where state_hash = $1 and expires_at > now() returning state_hash',
        [hash(state)],
      )
    ).length === 1
  );
}
