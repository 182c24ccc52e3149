// Where GitHub is: github.com, or a GitHub Enterprise Server named by GHE_HOST (and GHE_PROTOCOL), read the
// way Probot reads them, so the registration page, `bot check` and the running bot all talk to the same one.

export interface GitHubUrls {
  /** The web site (App registration pages). */
  web: string;
  /** The REST API. */
  api: string;
}

export function githubUrls(env: NodeJS.ProcessEnv): GitHubUrls {
  const host = env.GHE_HOST?.trim();
  if (!host) return { web: 'https://github.com', api: 'https://api.github.com' };
  const origin = `${env.GHE_PROTOCOL?.trim() || 'https'}://${host}`;
  return { web: origin, api: `${origin}/api/v3` };
}
