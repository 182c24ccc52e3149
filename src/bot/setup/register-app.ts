import { randomBytes } from 'node:crypto';
import { sameText } from '../../same-text.ts';
import { escapeHtml } from '../console/html.ts';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { writePrivateFile } from '../../write-private-file.ts';
import { githubUrls } from '../github/github-urls.ts';
import { listen } from '../listen.ts';
import { WEBHOOK_PATH } from '../server.ts';
import { appManifest, DEFAULT_APP_NAME } from './app-manifest.ts';
import { mergeEnvFile } from './env-file.ts';

// Setup mode (`c2f-plugin bot` without App credentials): registers the bot's GitHub App from a manifest
// (GitHub's "app manifest" flow). The page is opened through a link with a key printed at start, so only
// whoever sees the bot's output can register the App it will run as. GitHub sends the browser back to
// <C2F_BOT_URL>/setup/done with a one-time code, which the bot converts into the App's id, private key and
// webhook secret; they go to .env and a key file beside it (owner-only), and the caller starts the bot.

export interface SetupOptions {
  botUrl: string;
  port: number;
  host: string;
  env: NodeJS.ProcessEnv;
  /** The .env file to write (the one the bot reads at start). */
  envFile: string;
  log: (line: string) => void;
}

/** The variables the bot needs, as written to .env. */
export type AppCredentials = Record<
  'APP_ID' | 'PRIVATE_KEY_PATH' | 'WEBHOOK_SECRET' | 'GITHUB_CLIENT_ID' | 'GITHUB_CLIENT_SECRET',
  string
>;

interface Conversion {
  id: number;
  slug?: string;
  name: string;
  html_url: string;
  pem: string;
  webhook_secret: string | null;
  client_id: string;
  client_secret: string;
}

const STATE_LIFETIME_MS = 60 * 60 * 1000;

/** What the bot's API answers until its GitHub App is registered. */
const SETUP_MODE_ANSWER = (botUrl: string) =>
  `the bot is in setup mode: its GitHub App is not registered yet; open the registration link "c2f-plugin bot" printed when it started (${botUrl}/setup?key=…), then try again`;

/** Serves the registration page until the App is registered; resolves with its credentials, server closed. */
export async function registerApp(options: SetupOptions): Promise<AppCredentials> {
  const key = randomBytes(16).toString('hex');
  const states = new Map<string, number>();
  const github = githubUrls(options.env);
  let finish!: (credentials: AppCredentials) => void;
  const registered = new Promise<AppCredentials>((resolve) => (finish = resolve));

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      options.log(`setup: ${(error as Error).message}`);
      if (!res.headersSent)
        page(
          res,
          500,
          'Something went wrong',
          `<p>${escapeHtml((error as Error).message)}</p><p>Start again from the link the bot printed.</p>`,
        );
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://setup.invalid');
    // Hosts and the admin commands get a sentence they can show as it is, whatever they asked.
    if (url.pathname.startsWith('/api/') || url.pathname === '/healthz') {
      req.resume();
      return json(res, 503, { status: 'setup', setupMode: true, error: SETUP_MODE_ANSWER(options.botUrl) });
    }
    if (req.method !== 'GET') return page(res, 405, 'Not here', '<p>The registration page only answers GET.</p>');
    if (url.pathname === '/') return void res.writeHead(302, { location: '/setup' }).end();
    if (url.pathname === '/setup') return setupPage(url, res);
    if (url.pathname === '/setup/done') return done(url, res);
    return page(
      res,
      404,
      'Not found',
      '<p>The bot is in setup mode: nothing but the registration page is served until the GitHub App is registered.</p>',
    );
  }

  function setupPage(url: URL, res: ServerResponse): void {
    if (!sameText(url.searchParams.get('key') ?? '', key)) {
      return page(
        res,
        403,
        'Open the link the bot printed',
        '<p>The registration page opens only through the link (with its key) that <code>c2f-plugin bot</code> printed when it started.</p>',
      );
    }
    const org = (url.searchParams.get('org') ?? '').trim();
    if (org && !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(org))
      return page(res, 422, 'Not an organization name', `<p>${escapeHtml(org)} is not a GitHub organization name.</p>`);
    const name = (url.searchParams.get('name') ?? DEFAULT_APP_NAME).trim().slice(0, 34) || DEFAULT_APP_NAME;
    const state = randomBytes(16).toString('hex');
    const now = Date.now();
    for (const [issued, at] of states) if (now - at > STATE_LIFETIME_MS) states.delete(issued);
    states.set(state, now);
    const manifest = appManifest(options.botUrl, name);
    const target = `${github.web}${org ? `/organizations/${encodeURIComponent(org)}` : ''}/settings/apps/new?state=${state}`;
    page(
      res,
      200,
      "Register the release bot's GitHub App",
      `
<p>GitHub will create a private App named <b>${escapeHtml(name)}</b> owned by ${org ? `the organization <b>${escapeHtml(org)}</b>` : 'your account'}, asking for
contents: read, metadata: read and checks: write, subscribed to the release and check_run events, with its webhook at
<code>${escapeHtml(String((manifest.hook_attributes as { url: string }).url))}</code>.</p>
<form method="post" action="${escapeHtml(target)}">
  <input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(manifest))}">
  <button type="submit">Register on GitHub</button>
</form>
<form method="get" action="/setup">
  <input type="hidden" name="key" value="${escapeHtml(key)}">
  <p><label>App name (unique on GitHub) <input name="name" value="${escapeHtml(name)}" maxlength="34"></label></p>
  <p><label>Owned by the organization (empty: your account) <input name="org" value="${escapeHtml(org)}"></label></p>
  <button type="submit">Change</button>
</form>`,
    );
  }

  async function done(url: URL, res: ServerResponse): Promise<void> {
    const state = url.searchParams.get('state') ?? '';
    const code = url.searchParams.get('code') ?? '';
    const issuedAt = states.get(state);
    if (issuedAt === undefined || Date.now() - issuedAt > STATE_LIFETIME_MS) {
      return page(
        res,
        403,
        'This registration did not start here',
        '<p>Start again from the link the bot printed.</p>',
      );
    }
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(code))
      return page(
        res,
        422,
        'No code from GitHub',
        '<p>GitHub sends the browser back with a code; this request has none.</p>',
      );
    states.delete(state);
    const app = await convert(github.api, code);
    const keyFile = path.join(path.dirname(options.envFile), `github-app-${app.id}.private-key.pem`);
    await writePrivateFile(keyFile, app.pem);
    const credentials: AppCredentials = {
      APP_ID: String(app.id),
      PRIVATE_KEY_PATH: keyFile,
      WEBHOOK_SECRET: app.webhook_secret!,
      GITHUB_CLIENT_ID: app.client_id,
      GITHUB_CLIENT_SECRET: app.client_secret,
    };
    const existing = await readFile(options.envFile, 'utf8').catch((error: NodeJS.ErrnoException) =>
      error.code === 'ENOENT' ? '' : Promise.reject(error),
    );
    await writePrivateFile(options.envFile, mergeEnvFile(existing, credentials, ['PRIVATE_KEY']));
    const install = `${app.html_url}/installations/new`;
    options.log(
      `Registered the GitHub App "${app.name}" (id ${app.id}): credentials written to ${options.envFile} and ${keyFile} (readable by their owner only).`,
    );
    options.log(`Next: install it on the repositories whose releases it rolls out: ${install}`);
    page(
      res,
      200,
      'The GitHub App is registered',
      `<p><b>${escapeHtml(app.name)}</b> (id ${app.id}) is registered; its credentials are in <code>${escapeHtml(options.envFile)}</code>. The bot is starting.</p>
<p>Next, <a href="${escapeHtml(install)}">install it</a> on the repositories whose releases it rolls out.</p>`,
    );
    res.once('finish', () => finish(credentials)); // the page first: the server closes next
  }

  await listen(server, options.port, options.host);
  const local = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  options.log('No GitHub App credentials yet (APP_ID with PRIVATE_KEY or PRIVATE_KEY_PATH): the bot is in setup mode.');
  options.log(
    `Register its GitHub App: open ${options.botUrl}/setup?key=${key}${options.botUrl === local ? '' : ` (or ${local}/setup?key=${key} on this machine)`}`,
  );
  options.log(
    `GitHub will send webhooks to ${options.botUrl}${WEBHOOK_PATH} and the browser back to ${options.botUrl}/setup/done; the credentials go to ${options.envFile}.`,
  );
  const credentials = await registered;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
  return credentials;
}

async function convert(api: string, code: string): Promise<Conversion> {
  const response = await fetch(`${api}/app-manifests/${encodeURIComponent(code)}/conversions`, {
    method: 'POST',
    headers: {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'conn2flow-plugin-release',
    },
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json().catch(() => null)) as (Conversion & { message?: string }) | null;
  if (
    response.status !== 201 ||
    !body ||
    typeof body.id !== 'number' ||
    typeof body.pem !== 'string' ||
    !body.webhook_secret
  ) {
    throw new Error(
      `GitHub did not convert the registration code (HTTP ${response.status}${body?.message ? `: ${body.message}` : ''}); codes expire after an hour and work once: start again`,
    );
  }
  return body;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '60' }).end(JSON.stringify(body));
}

function page(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem}code{font-size:.9em}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
}
