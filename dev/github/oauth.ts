import { randomBytes } from 'node:crypto';
import type { AppRegistry } from './apps.ts';

// Signing in with a GitHub App's OAuth client, as the stand-in plays it: the person "signed in to GitHub" in
// the browser is `signedIn`; the authorize page sends them straight back (GitHub asks once, then remembers)
// with a code, which the App's client id and secret turn into a user token once; the token names the user
// (GET /user), their organisation memberships (GET /user/memberships/orgs/{org}) and, for a member of the
// organisation, the team memberships of anyone in it (GET /orgs/{org}/teams/{team_slug}/memberships/{username}).

export class OAuthUsers {
  /** Who is signed in to GitHub in the browser that comes to the authorize page. */
  signedIn = 'octocat';
  /** Organisation → its active members. */
  readonly orgMembers = new Map<string, Set<string>>();
  /** "org/team-slug" → the team's active members. */
  readonly teamMembers = new Map<string, Set<string>>();
  /** Refusals the authorize page and the token exchange answered, with why. */
  readonly refused: string[] = [];
  private readonly codes = new Map<string, { login: string; clientId: string; redirectUri: string }>();
  private readonly tokens = new Map<string, string>();
  private readonly apps: AppRegistry;

  constructor(apps: AppRegistry) {
    this.apps = apps;
  }

  /** GET /login/oauth/authorize: the redirect back, or why GitHub would refuse. */
  authorize(url: URL): { location: string } | { refused: string } {
    const clientId = url.searchParams.get('client_id') ?? '';
    const redirectUri = url.searchParams.get('redirect_uri') ?? '';
    const app = this.apps.apps.find((a) => a.clientId === clientId);
    if (!app) return this.refuse(`no App has the client id ${clientId}`);
    const callbacks: string[] = app.manifest.callback_urls ?? [];
    // GitHub accepts a redirect_uri under one of the App's callback URLs, and nothing else.
    if (!callbacks.some((callback) => redirectUri === callback || redirectUri.startsWith(`${callback}/`))) {
      return this.refuse(
        `the redirect_uri ${redirectUri} is not under the App's callback URLs (${callbacks.join(', ') || 'none'})`,
      );
    }
    const code = randomBytes(10).toString('hex');
    this.codes.set(code, { login: this.signedIn, clientId, redirectUri });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    if (url.searchParams.has('state')) back.searchParams.set('state', url.searchParams.get('state')!);
    return { location: back.toString() };
  }

  /** POST /login/oauth/access_token: a code works once, with its App's client id and secret. */
  exchange(
    body: Record<string, string>,
  ): { access_token: string; token_type: string; scope: string } | { error: string; error_description: string } {
    const entry = this.codes.get(body.code ?? '');
    this.codes.delete(body.code ?? '');
    const app = this.apps.apps.find((a) => a.clientId === body.client_id);
    if (!entry || !app || app.clientSecret !== body.client_secret || entry.clientId !== body.client_id) {
      this.refused.push('a code exchange with a wrong, used or unknown code or client');
      return { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' };
    }
    const token = `ghu_${randomBytes(18).toString('hex')}`;
    this.tokens.set(token, entry.login);
    return { access_token: token, token_type: 'bearer', scope: '' };
  }

  /** The user a bearer user token names. */
  userOf(authorization: string | undefined): string | undefined {
    const token = /^(?:Bearer|token) (\S+)$/i.exec(authorization ?? '')?.[1];
    return token ? this.tokens.get(token) : undefined;
  }

  isMember(org: string, login: string): boolean {
    return this.orgMembers.get(org)?.has(login) ?? false;
  }

  inTeam(org: string, team: string, login: string): boolean {
    return this.teamMembers.get(`${org}/${team}`)?.has(login) ?? false;
  }

  private refuse(reason: string): { refused: string } {
    this.refused.push(reason);
    return { refused: reason };
  }
}
