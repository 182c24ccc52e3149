import { isListed, type Role, type Roles } from './roles.ts';
import type { GitHubUrls } from '../github/github-urls.ts';

// Signing in to the console with GitHub, through the App's own OAuth client (setup mode writes its client id
// and secret): the browser goes to GitHub and comes back with a code, which becomes a user token, which names
// the user. Who may enter: the logins listed, or the active members of one organisation.

export interface SignInConfig {
  clientId: string;
  clientSecret: string;
  github: GitHubUrls;
  /** Where GitHub sends the browser back (<C2F_BOT_URL>/console/oauth/callback). */
  callbackUrl: string;
  /** Who may enter by name, with their role; organisation members enter with the organisation's role. */
  roles: Roles;
  allowedOrg: string | null;
  /** Team slugs of the organisation whose members get each role (the highest of their teams). */
  teams: Record<Role, string[]>;
}

export class SignInError extends Error {}

const HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  'user-agent': 'conn2flow-plugin-release',
};

export function authorizeUrl(config: SignInConfig, state: string): string {
  const url = new URL('/login/oauth/authorize', config.github.web);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', config.callbackUrl);
  url.searchParams.set('state', state);
  return url.toString();
}

export async function exchangeCode(config: SignInConfig, code: string): Promise<string> {
  const response = await fetch(new URL('/login/oauth/access_token', config.github.web), {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', 'user-agent': HEADERS['user-agent'] },
    body: JSON.stringify({
      client_id: config.clientId,
      client_secret: config.clientSecret,
      code,
      redirect_uri: config.callbackUrl,
    }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!response.ok || !body.access_token)
    throw new SignInError(
      `GitHub did not sign you in (${body.error_description ?? body.error ?? `HTTP ${response.status}`}): try again`,
    );
  return body.access_token;
}

export async function fetchUser(config: SignInConfig, token: string): Promise<{ login: string; name: string | null }> {
  const response = await fetch(`${config.github.api}/user`, {
    headers: { ...HEADERS, authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json().catch(() => ({}))) as { login?: string; name?: string | null };
  if (!response.ok || !body.login)
    throw new SignInError(`GitHub did not say who you are (HTTP ${response.status}): try again`);
  return { login: body.login, name: body.name ?? null };
}

/** Whether the user may use the console: listed by login, or an active member of the organisation. */
export async function mayEnter(config: SignInConfig, token: string, login: string): Promise<boolean> {
  if (isListed(config.roles, login)) return true;
  if (!config.allowedOrg) return false;
  const response = await fetch(`${config.github.api}/user/memberships/orgs/${encodeURIComponent(config.allowedOrg)}`, {
    headers: { ...HEADERS, authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(15_000),
  });
  if (!response.ok) return false;
  const body = (await response.json().catch(() => ({}))) as { state?: string };
  return body.state === 'active';
}

/**
 * The highest role a member's teams give (admin, then operator, then viewer), asked of GitHub with the member's
 * own token; null when no team names them (or the App may not read teams: it needs Members: read).
 */
export async function teamRole(config: SignInConfig, token: string, login: string): Promise<Role | null> {
  if (!config.allowedOrg) return null;
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    for (const slug of config.teams[role]) {
      const response = await fetch(
        `${config.github.api}/orgs/${encodeURIComponent(config.allowedOrg)}/teams/${encodeURIComponent(slug)}/memberships/${encodeURIComponent(login)}`,
        { headers: { ...HEADERS, authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) },
      );
      if (!response.ok) continue;
      const body = (await response.json().catch(() => ({}))) as { state?: string };
      if (body.state === 'active') return role;
    }
  }
  return null;
}
