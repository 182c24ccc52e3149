import { randomBytes } from 'node:crypto';
import { sameText } from '../../same-text.ts';
import type { SecretBox } from '../store/secret-box.ts';

// The console's session: who signed in and the CSRF token their forms carry, in a cookie signed with a key
// derived from C2F_SECRET_KEY (so every bot process accepts it), naming a session row on the server, which a
// sign-out, a removed login or "sign out everyone" ends at once. HttpOnly, SameSite=Lax (the OAuth callback is
// a top-level navigation back from GitHub), Secure when the bot is served over https.

export interface Session {
  /** The server-side session this cookie names. */
  id: string;
  login: string;
  name: string | null;
  csrf: string;
  /** Milliseconds since the epoch. */
  expires: number;
}

export const SESSION_COOKIE = 'c2f_console';
export const STATE_COOKIE = 'c2f_console_oauth';
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

export function newSession(login: string, name: string | null, now = Date.now()): Session {
  return {
    id: randomBytes(18).toString('base64url'),
    login,
    name,
    csrf: randomBytes(24).toString('base64url'),
    expires: now + SESSION_LIFETIME_MS,
  };
}

export function sealSession(box: SecretBox, session: Session): string {
  const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
  return `${payload}.${box.mac('console-session', payload)}`;
}

export function openSession(box: SecretBox, value: string | undefined, now = Date.now()): Session | undefined {
  if (!value) return undefined;
  const [payload, mac] = value.split('.');
  if (!payload || !mac || !sameText(mac, box.mac('console-session', payload))) return undefined;
  try {
    const session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Session;
    return typeof session.id === 'string' &&
      typeof session.login === 'string' &&
      typeof session.csrf === 'string' &&
      session.expires > now
      ? session
      : undefined;
  } catch {
    return undefined;
  }
}

export function cookie(name: string, value: string, options: { secure: boolean; maxAgeSeconds?: number }): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/console', 'HttpOnly', 'SameSite=Lax'];
  if (options.secure) parts.push('Secure');
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  return parts.join('; ');
}
