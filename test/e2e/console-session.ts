import assert from 'node:assert/strict';
import type { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { botSecrets, freePort, startBundleBot, type BotSecrets, type BundleBot } from './bundle.ts';

// A bundle bot whose console signs in through the stand-in (which plays GitHub's OAuth), and a signed-in
// session as a browser would hold it: its cookies, ready for fetch.

export async function startConsoleBot(
  github: GitHubStandIn,
  users = 'octocat',
  options: {
    databaseUrl?: string;
    dataDir?: string;
    port?: number;
    secrets?: BotSecrets;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<BundleBot> {
  const port = options.port ?? (await freePort());
  const secrets = options.secrets ?? botSecrets();
  const app = github.apps.trust(1, secrets.privateKey, secrets.webhookSecret, {
    callback_urls: [`http://127.0.0.1:${port}/console/oauth/callback`],
  });
  return startBundleBot(github, {
    ...options,
    port,
    secrets,
    env: {
      GITHUB_CLIENT_ID: app.clientId,
      GITHUB_CLIENT_SECRET: app.clientSecret,
      C2F_CONSOLE_USERS: users,
      ...options.env,
    },
  });
}

export class ConsoleBrowser {
  readonly jar = new Map<string, string>();
  private readonly origin: string;

  constructor(origin: string) {
    this.origin = origin;
  }

  cookie(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async go(pathOrUrl: string, init: RequestInit = {}): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.origin}${pathOrUrl}`;
    const response = await fetch(url, {
      redirect: 'manual',
      ...init,
      headers: { ...(init.headers as Record<string, string>), cookie: this.cookie() },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      const value = pair.slice(at + 1);
      if (/max-age=0/i.test(line) || value === '') this.jar.delete(pair.slice(0, at));
      else this.jar.set(pair.slice(0, at), value);
    }
    return response;
  }

  /** "Sign in with GitHub": to the stand-in and back with a code; the session cookie is kept. Returns the callback address. */
  async signIn(): Promise<string> {
    const toGitHub = await this.go('/console/sign-in/github');
    const back = await this.go(toGitHub.headers.get('location')!);
    const callback = back.headers.get('location')!;
    const done = await this.go(callback);
    assert.equal(done.status, 303, `the callback answered ${done.status}: ${await done.text()}`);
    return callback;
  }

  /** A form post with this session's CSRF token (read from the page at `from`). */
  async post(action: string, fields: Record<string, string>, from = '/console/fleet'): Promise<Response> {
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await this.go(from)).text())?.[1] ?? '';
    return this.go(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
    });
  }
}
