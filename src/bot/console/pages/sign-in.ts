import { html, type Html } from '../html.ts';

// Signing in, and the pages for who may not enter or a console that is not set up.

export function signInView(error?: string): Html {
  return html`
${error ? html`<p class="notice error" role="alert">${error}</p>` : ''}
<p>The console shows the hosts the release bot serves, its rollouts, the plugins it knows and its event log.</p>
<p><a href="/console/sign-in/github"><strong>Sign in with GitHub</strong></a></p>`;
}

export function deniedView(login: string): Html {
  return html`<p class="notice error" role="alert">${login} may not use this console.</p>
<p>The bot lets in the GitHub logins in C2F_CONSOLE_USERS and the members of the organisation in C2F_CONSOLE_ORG. Ask its operator.</p>
<p><a href="/console/sign-in">Sign in as someone else</a></p>`;
}

export function notSetUpView(missing: readonly string[]): Html {
  return html`<p class="notice error" role="alert">The console is off: ${missing.join('; ')}.</p>
<p>The GitHub App's OAuth client signs operators in: setup mode writes GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to .env; on GitHub, the App's
"Callback URL" must be &lt;C2F_BOT_URL&gt;/console/oauth/callback. Who may enter: C2F_CONSOLE_USERS (GitHub logins, comma-separated) or
C2F_CONSOLE_ORG (the members of one organisation).</p>`;
}
