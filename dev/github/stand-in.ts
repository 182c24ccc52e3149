// A local stand-in for GitHub's REST API (releases and assets) on 127.0.0.1. Every request body and every
// JSON response is validated against GitHub's official OpenAPI description (openapi-subset.json); any
// mismatch is recorded in `violations`, which tests assert to be empty. Faults can be injected: 403 on
// writes, an asset appearing during an upload, immutable releases.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import { SigstoreStandIn } from '../sigstore/stand-in.ts';
import { AppRegistry, manifestProblems, type RegisteredApp } from './apps.ts';
import { OAuthUsers } from './oauth.ts';
import {
  checkRunActionPayload,
  releasePayload,
  sendWebhook,
  type Delivered,
  type ReleaseEvent,
  type WebhookTarget,
} from './webhooks.ts';
import { SUBSET_FILE, type Subset } from './openapi-subset.ts';

const subset: Subset = JSON.parse(readFileSync(SUBSET_FILE, 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map<string, ValidateFunction>();
function validator(key: string, schema: unknown): ValidateFunction {
  let v = validators.get(key);
  if (!v) validators.set(key, (v = ajv.compile(nullableEnums(structuredClone(schema)) as object)));
  return v;
}

/** OpenAPI 3.0 lets `nullable: true` admit null even where an `enum` does not list it; ajv needs it listed. */
function nullableEnums(schema: unknown): unknown {
  if (Array.isArray(schema)) schema.forEach(nullableEnums);
  else if (schema && typeof schema === 'object') {
    const node = schema as Record<string, unknown>;
    if (node.nullable === true && Array.isArray(node.enum) && !node.enum.includes(null)) node.enum.push(null);
    Object.values(node).forEach(nullableEnums);
  }
  return schema;
}

export interface StoredAsset {
  id: number;
  name: string;
  contentType: string;
  content: Buffer;
  createdAt: string;
}

export interface StoredRelease {
  id: number;
  tagName: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  immutable: boolean;
  createdAt: string;
  publishedAt: string | null;
  assets: StoredAsset[];
}

export interface StoredCheckRun {
  id: number;
  repo: string;
  name: string;
  headSha: string;
  externalId: string | null;
  status: string;
  conclusion: string | null;
  output: { title: string; summary: string; text?: string } | null;
  /** The buttons the check run offers (check_run.requested_action sends their identifier back). */
  actions: Array<{ label: string; description: string; identifier: string }>;
  updates: number;
}

/** The commit a tag points at, made up but stable. */
export function commitOf(tag: string): string {
  return createHash('sha1').update(`commit of ${tag}`).digest('hex');
}

export interface Faults {
  /** Answer 403 to every write, as with a token lacking contents: write. */
  forbidWrites?: boolean;
  /** Asset names that "appear" (uploaded by someone else) right before our next upload of that name. */
  raceOnUpload?: Set<string>;
  /** Releases published by PATCH become immutable (the repository has immutable releases on). */
  immutableOnPublish?: boolean;
  /** Answer 403 to storing an attestation, as for a job without `attestations: write`. */
  forbidAttestations?: boolean;
  /** Refuse the App's JWT, as GitHub does for a wrong APP_ID or PRIVATE_KEY. */
  badCredentials?: boolean;
}

const ROUTES: Array<[method: string, pattern: RegExp, operation: string]> = [
  ['POST', /^\/app-manifests\/([^/]+)\/conversions$/, 'POST /app-manifests/{code}/conversions'],
  ['GET', /^\/app$/, 'GET /app'],
  ['GET', /^\/app\/hook\/config$/, 'GET /app/hook/config'],
  ['GET', /^\/user$/, 'GET /user'],
  ['GET', /^\/user\/memberships\/orgs\/([^/]+)$/, 'GET /user/memberships/orgs/{org}'],
  [
    'GET',
    /^\/orgs\/([^/]+)\/teams\/([^/]+)\/memberships\/([^/]+)$/,
    'GET /orgs/{org}/teams/{team_slug}/memberships/{username}',
  ],
  ['GET', /^\/app\/hook\/deliveries$/, 'GET /app/hook/deliveries'],
  ['POST', /^\/app\/hook\/deliveries\/(\d+)\/attempts$/, 'POST /app/hook/deliveries/{delivery_id}/attempts'],
  ['POST', /^\/app\/installations\/(\d+)\/access_tokens$/, 'POST /app/installations/{installation_id}/access_tokens'],
  ['GET', /^\/repos\/([^/]+)\/([^/]+)\/contents\/(.+)$/, 'GET /repos/{owner}/{repo}/contents/{path}'],
  ['GET', /^\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)$/, 'GET /repos/{owner}/{repo}/releases/{release_id}'],
  ['GET', /^\/repos\/([^/]+)\/([^/]+)\/git\/ref\/(.+)$/, 'GET /repos/{owner}/{repo}/git/ref/{ref}'],
  ['POST', /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/, 'POST /repos/{owner}/{repo}/check-runs'],
  ['POST', /^\/repos\/([^/]+)\/([^/]+)\/attestations$/, 'POST /repos/{owner}/{repo}/attestations'],
  ['PATCH', /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/, 'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}'],
  ['GET', /^\/repos\/([^/]+)\/([^/]+)\/releases\/tags\/(.+)$/, 'GET /repos/{owner}/{repo}/releases/tags/{tag}'],
  ['GET', /^\/repos\/([^/]+)\/([^/]+)\/releases$/, 'GET /repos/{owner}/{repo}/releases'],
  ['POST', /^\/repos\/([^/]+)\/([^/]+)\/releases$/, 'POST /repos/{owner}/{repo}/releases'],
  ['PATCH', /^\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)$/, 'PATCH /repos/{owner}/{repo}/releases/{release_id}'],
  [
    'GET',
    /^\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)\/assets$/,
    'GET /repos/{owner}/{repo}/releases/{release_id}/assets',
  ],
  [
    'POST',
    /^\/uploads\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)\/assets$/,
    'POST /repos/{owner}/{repo}/releases/{release_id}/assets',
  ],
  [
    'DELETE',
    /^\/repos\/([^/]+)\/([^/]+)\/releases\/assets\/(\d+)$/,
    'DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}',
  ],
  [
    'GET',
    /^\/repos\/([^/]+)\/([^/]+)\/releases\/assets\/(\d+)$/,
    'GET /repos/{owner}/{repo}/releases/assets/{asset_id}',
  ],
];

export class GitHubStandIn {
  url = '';
  readonly repos = new Map<string, StoredRelease[]>();
  readonly violations: string[] = [];
  readonly requests: string[] = [];
  faults: Faults = {};
  /** Repository files served by the contents API (raw), keyed `owner/repo/path`. */
  readonly files = new Map<string, string>();
  /** Installation ids for which a token was issued. */
  readonly installationTokens: string[] = [];
  readonly checkRuns: StoredCheckRun[] = [];
  /** The App's webhook deliveries as GitHub lists them, and the guids asked to be redelivered. */
  readonly hookDeliveries: Array<{
    id: number;
    guid: string;
    deliveredAt: string;
    redelivery: boolean;
    statusCode: number;
  }> = [];
  readonly redeliveryRequests: string[] = [];
  /** GitHub Apps registered through the web page, and the JWTs they sign. */
  readonly apps = new AppRegistry();
  /** Manifests the registration page refused, with why. */
  readonly refusedManifests: string[] = [];
  /** Signing in with an App's OAuth client: who is signed in to GitHub, organisation members. */
  readonly oauth = new OAuthUsers(this.apps);
  /** The runner's ID tokens and a local Sigstore (Fulcio, Rekor) for build provenance. */
  readonly sigstore = new SigstoreStandIn(() => this.url);
  /** Artifact attestations stored through the REST API, per repository. */
  readonly attestations: Array<{ id: number; repo: string; bundle: unknown }> = [];
  private server: Server | undefined;
  private nextId = 1000;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        this.violations.push(`stand-in crashed on ${req.method} ${req.url}: ${(error as Error).stack}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    // Keep-alive connections from a client that is still up would hold close() open.
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  releases(repo: string): StoredRelease[] {
    let list = this.repos.get(repo);
    if (!list) this.repos.set(repo, (list = []));
    return list;
  }

  addRelease(
    repo: string,
    release: Partial<StoredRelease> & { tagName: string },
    assets: Array<{ name: string; content: Buffer; contentType?: string }> = [],
  ): StoredRelease {
    const now = new Date().toISOString();
    const stored: StoredRelease = {
      id: this.nextId++,
      name: release.tagName,
      body: '',
      draft: false,
      prerelease: false,
      immutable: false,
      createdAt: now,
      publishedAt: release.draft ? null : now,
      ...release,
      assets: [],
    };
    for (const a of assets)
      stored.assets.push({
        id: this.nextId++,
        name: a.name,
        contentType: a.contentType ?? 'application/octet-stream',
        content: a.content,
        createdAt: now,
      });
    this.releases(repo).unshift(stored);
    return stored;
  }

  /**
   * What GitHub does when an author publishes a plugin release: the release with gestor-plugin.zip and its
   * .sha256 attached (a bare digest unless `sha256Text` says otherwise), after any other `assets` (a
   * signature), then the signed release webhook.
   */
  async publishRelease(
    to: WebhookTarget,
    repository: string,
    release: {
      tagName: string;
      zip: Buffer;
      sha256Text?: string;
      prerelease?: boolean;
      assets?: Array<{ name: string; content: Buffer }>;
    },
    options: Pick<ReleaseEvent, 'action' | 'privateRepository' | 'installationId'> = {},
  ): Promise<{ release: StoredRelease; webhook: Delivered }> {
    const digest = createHash('sha256').update(release.zip).digest('hex');
    const stored = this.addRelease(repository, { tagName: release.tagName, prerelease: release.prerelease ?? false }, [
      ...(release.assets ?? []),
      { name: 'gestor-plugin.zip', content: release.zip, contentType: 'application/zip' },
      {
        name: 'gestor-plugin.zip.sha256',
        content: Buffer.from(release.sha256Text ?? `${digest}\n`),
        contentType: 'text/plain',
      },
    ]);
    const webhook = await sendWebhook(
      to,
      'release',
      releasePayload({
        repository,
        release: { id: stored.id, tagName: stored.tagName, prerelease: stored.prerelease },
        ...options,
      }),
    );
    return { release: stored, webhook };
  }

  /** The author turns a pre-release into a release: GitHub sends `release.released`. */
  async promoteRelease(
    to: WebhookTarget,
    repository: string,
    releaseId: number,
    options: Pick<ReleaseEvent, 'privateRepository' | 'installationId'> = {},
  ): Promise<Delivered> {
    const stored = this.releases(repository).find((r) => r.id === releaseId);
    if (!stored) throw new Error(`no release ${releaseId} in ${repository}`);
    stored.prerelease = false;
    return sendWebhook(
      to,
      'release',
      releasePayload({
        repository,
        release: { id: stored.id, tagName: stored.tagName, prerelease: false },
        action: 'released',
        ...options,
      }),
    );
  }

  /** Someone presses one of a check run's buttons: GitHub sends `check_run.requested_action`. */
  async pressCheckRunButton(
    to: WebhookTarget,
    run: StoredCheckRun,
    identifier: string,
    sender = 'octocat',
  ): Promise<Delivered> {
    return sendWebhook(
      to,
      'check_run',
      checkRunActionPayload({
        repository: run.repo,
        checkRun: { id: run.id, externalId: run.externalId, headSha: run.headSha },
        identifier,
        sender,
      }),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    // GitHub Enterprise Server serves the same API under /api/v3 (what Probot calls with GHE_HOST set).
    if (url.pathname.startsWith('/api/v3/')) url.pathname = url.pathname.slice('/api/v3'.length);
    this.requests.push(`${req.method} ${url.pathname}`);
    const body = await readBody(req);
    if (url.pathname.startsWith('/downloads/')) return this.download(url, res);
    const sigstore = await this.sigstore.answer(req.method ?? 'GET', url, req.headers.authorization, body);
    if (sigstore) return this.send(res, 'sigstore', sigstore.status, sigstore.json, false);
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const answer = this.oauth.authorize(url);
      if ('refused' in answer) return void res.writeHead(400, { 'content-type': 'text/plain' }).end(answer.refused);
      return void res.writeHead(302, { location: answer.location }).end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const text = body.toString('utf8');
      const fields = (req.headers['content-type'] ?? '').includes('json')
        ? JSON.parse(text || '{}')
        : Object.fromEntries(new URLSearchParams(text));
      const answer = this.oauth.exchange(fields);
      return void res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer));
    }
    const registration = /^(?:\/organizations\/([^/]+))?\/settings\/apps\/new$/.exec(url.pathname);
    if (req.method === 'POST' && registration) return this.registerApp(body, url, registration[1] ?? 'octocat', res);
    const route = ROUTES.find(([method, pattern]) => method === req.method && pattern.test(url.pathname));
    if (!route) {
      this.violations.push(`unexpected request ${req.method} ${url.pathname}`);
      return this.send(res, 'none', 404, { message: 'Not Found' });
    }
    const [, pattern, operation] = route;
    const [, owner, repo, param] = pattern.exec(url.pathname)!;
    const contract = subset[operation];
    const repoKey = `${owner}/${repo}`;
    const isWrite = req.method !== 'GET';
    if (operation === 'POST /app-manifests/{code}/conversions') {
      const app = this.apps.convert(owner);
      return app
        ? this.send(res, operation, 201, {
            ...this.appJson(app),
            client_id: app.clientId,
            client_secret: app.clientSecret,
            webhook_secret: app.webhookSecret,
            pem: app.pem,
          })
        : this.notFound(res, operation);
    }
    if (!req.headers.authorization) this.violations.push(`${operation}: no authorization header`);
    if (operation === 'GET /orgs/{org}/teams/{team_slug}/memberships/{username}') {
      const asker = this.oauth.userOf(req.headers.authorization);
      const [org, team, username] = [owner, repo, param].map((part) => decodeURIComponent(part ?? ''));
      // GitHub answers 404 to a token that may not see the team, and to someone who is not in it.
      if (!asker || !this.oauth.isMember(org, asker) || !this.oauth.inTeam(org, team, username))
        return this.notFound(res, operation);
      return this.send(res, operation, 200, {
        url: `${this.url}/orgs/${org}/teams/${team}/memberships/${username}`,
        role: 'member',
        state: 'active',
      });
    }
    if (operation === 'GET /user' || operation === 'GET /user/memberships/orgs/{org}') {
      const login = this.oauth.userOf(req.headers.authorization);
      if (!login)
        return this.send(
          res,
          operation,
          401,
          { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' },
          false,
        );
      if (operation === 'GET /user') return this.send(res, operation, 200, this.userJson(login));
      const org = decodeURIComponent(owner);
      if (!this.oauth.isMember(org, login)) return this.notFound(res, operation);
      return this.send(res, operation, 200, {
        url: `${this.url}/orgs/${org}/memberships/${login}`,
        state: 'active',
        role: 'member',
        organization_url: `${this.url}/orgs/${org}`,
        organization: {
          login: org,
          id: 77,
          node_id: 'O_77',
          url: `${this.url}/orgs/${org}`,
          repos_url: `${this.url}/orgs/${org}/repos`,
          events_url: `${this.url}/orgs/${org}/events`,
          hooks_url: `${this.url}/orgs/${org}/hooks`,
          issues_url: `${this.url}/orgs/${org}/issues`,
          members_url: `${this.url}/orgs/${org}/members{/member}`,
          public_members_url: `${this.url}/orgs/${org}/public_members{/member}`,
          avatar_url: `${this.url}/avatars/${org}.png`,
          description: null,
        },
        user: this.simpleUser(login),
      });
    }
    if (operation === 'GET /app' || operation === 'GET /app/hook/config') {
      const app = this.apps.authenticate(req.headers.authorization);
      if (typeof app === 'string')
        return this.send(
          res,
          operation,
          401,
          { message: app, documentation_url: 'https://docs.github.com/rest', status: '401' },
          false,
        );
      if (operation === 'GET /app') return this.send(res, operation, 200, this.appJson(app));
      return this.send(res, operation, 200, {
        url: app.manifest.hook_attributes?.url ?? '',
        content_type: 'json',
        secret: '********',
        insecure_ssl: '0',
      });
    }
    if (operation === 'POST /app/installations/{installation_id}/access_tokens' && this.faults.badCredentials) {
      return this.send(
        res,
        operation,
        401,
        {
          message: 'A JSON web token could not be decoded',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        },
        false,
      );
    }
    if (isWrite && this.faults.forbidWrites)
      return this.send(
        res,
        operation,
        403,
        {
          message: 'Resource not accessible by integration',
          documentation_url: 'https://docs.github.com/rest/releases/releases',
          status: '403',
        },
        false,
      );

    let json: any;
    if (contract.requestBody && operation !== 'POST /repos/{owner}/{repo}/releases/{release_id}/assets') {
      json = JSON.parse(body.toString('utf8') || '{}');
      const validate = validator(`${operation} request`, contract.requestBody);
      if (!validate(json)) {
        this.violations.push(`${operation} request body: ${ajv.errorsText(validate.errors)}`);
        return this.send(
          res,
          operation,
          422,
          { message: 'Invalid request.', documentation_url: 'https://docs.github.com/rest' },
          false,
        );
      }
    }
    const list = this.releases(repoKey);
    const byId = (id: string) => list.find((r) => r.id === Number(id));
    switch (operation) {
      case 'GET /app/hook/deliveries': {
        const items = [...this.hookDeliveries]
          .sort((a, b) => b.id - a.id)
          .map((d) => ({
            id: d.id,
            guid: d.guid,
            delivered_at: d.deliveredAt,
            redelivery: d.redelivery,
            duration: 0.1,
            status: d.statusCode < 400 && d.statusCode > 0 ? 'OK' : 'Invalid HTTP Response: 503',
            status_code: d.statusCode,
            event: 'release',
            action: 'published',
            installation_id: 7,
            repository_id: 1,
          }));
        return this.send(res, operation, 200, items);
      }
      case 'POST /app/hook/deliveries/{delivery_id}/attempts': {
        const original = this.hookDeliveries.find((d) => d.id === Number(owner));
        if (!original) return this.notFound(res, operation);
        this.redeliveryRequests.push(original.guid);
        return this.send(res, operation, 202, {});
      }
      case 'POST /app/installations/{installation_id}/access_tokens': {
        this.installationTokens.push(owner);
        return this.send(res, operation, 201, {
          token: `ghs_installation_${owner}`,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          permissions: { contents: 'read', metadata: 'read', checks: 'write' },
          repository_selection: 'all',
        });
      }
      case 'GET /repos/{owner}/{repo}/contents/{path}': {
        const file = this.files.get(`${repoKey}/${decodeURIComponent(param)}`);
        if (!file) return this.notFound(res, operation);
        // GitHub answers the raw media type with the file's own type: text for configuration files.
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(file);
        return;
      }
      case 'GET /repos/{owner}/{repo}/git/ref/{ref}': {
        const ref = decodeURIComponent(param);
        const release = list.find((r) => `tags/${r.tagName}` === ref);
        if (!release) return this.notFound(res, operation);
        const sha = commitOf(release.tagName);
        return this.send(res, operation, 200, {
          ref: `refs/${ref}`,
          node_id: `REF_${release.id}`,
          url: `${this.url}/repos/${repoKey}/git/refs/${ref}`,
          object: { type: 'commit', sha, url: `${this.url}/repos/${repoKey}/git/commits/${sha}` },
        });
      }
      case 'POST /repos/{owner}/{repo}/check-runs': {
        const run: StoredCheckRun = {
          id: this.nextId++,
          repo: repoKey,
          name: json.name,
          headSha: json.head_sha,
          externalId: json.external_id ?? null,
          status: json.status ?? 'queued',
          conclusion: json.conclusion ?? null,
          output: json.output ?? null,
          actions: json.actions ?? [],
          updates: 0,
        };
        this.checkRuns.push(run);
        return this.send(res, operation, 201, this.checkRunJson(run));
      }
      case 'POST /repos/{owner}/{repo}/attestations': {
        if (this.faults.forbidAttestations)
          return this.send(res, operation, 403, {
            message: 'Resource not accessible by integration',
            documentation_url: 'https://docs.github.com/rest/repos/repos#create-an-attestation',
            status: '403',
          });
        const stored = { id: this.nextId++, repo: repoKey, bundle: json.bundle };
        this.attestations.push(stored);
        return this.send(res, operation, 201, { id: stored.id });
      }
      case 'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}': {
        const run = this.checkRuns.find((r) => r.id === Number(param) && r.repo === repoKey);
        if (!run) return this.notFound(res, operation);
        run.updates++;
        for (const key of ['status', 'conclusion', 'output', 'actions'] as const)
          if (key in json) (run as any)[key] = json[key];
        return this.send(res, operation, 200, this.checkRunJson(run));
      }
      case 'GET /repos/{owner}/{repo}/releases/{release_id}': {
        const release = byId(param);
        return release
          ? this.send(res, operation, 200, this.releaseJson(repoKey, release))
          : this.notFound(res, operation);
      }
      case 'GET /repos/{owner}/{repo}/releases/tags/{tag}': {
        const release = list.find((r) => r.tagName === decodeURIComponent(param) && !r.draft);
        return release
          ? this.send(res, operation, 200, this.releaseJson(repoKey, release))
          : this.notFound(res, operation);
      }
      case 'GET /repos/{owner}/{repo}/releases': {
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        const slice = list.slice((page - 1) * perPage, page * perPage);
        if (page * perPage < list.length)
          res.setHeader('link', `<${this.url}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"`);
        return this.send(
          res,
          operation,
          200,
          slice.map((r) => this.releaseJson(repoKey, r)),
        );
      }
      case 'POST /repos/{owner}/{repo}/releases': {
        if (list.some((r) => r.tagName === json.tag_name)) {
          return this.send(res, operation, 422, {
            message: 'Validation Failed',
            errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
            documentation_url: 'https://docs.github.com/rest/releases/releases#create-a-release',
          });
        }
        const release = this.addRelease(repoKey, {
          tagName: json.tag_name,
          name: json.name ?? null,
          body: json.body ?? null,
          draft: Boolean(json.draft),
          prerelease: Boolean(json.prerelease),
        });
        return this.send(res, operation, 201, this.releaseJson(repoKey, release));
      }
      case 'PATCH /repos/{owner}/{repo}/releases/{release_id}': {
        const release = byId(param);
        if (!release) return this.notFound(res, operation);
        if (json.draft === false && release.draft) {
          release.draft = false;
          release.publishedAt = new Date().toISOString();
          if (this.faults.immutableOnPublish) release.immutable = true;
        }
        for (const key of ['name', 'prerelease'] as const) if (key in json) (release as any)[key] = json[key];
        return this.send(res, operation, 200, this.releaseJson(repoKey, release));
      }
      case 'GET /repos/{owner}/{repo}/releases/{release_id}/assets': {
        const release = byId(param);
        if (!release) return this.notFound(res, operation);
        return this.send(
          res,
          operation,
          200,
          release.assets.map((a) => this.assetJson(repoKey, release, a)),
        );
      }
      case 'POST /repos/{owner}/{repo}/releases/{release_id}/assets': {
        const release = byId(param);
        if (!release) return this.notFound(res, operation);
        const name = url.searchParams.get('name');
        if (!name) this.violations.push(`${operation}: no name query parameter`);
        if (Number(req.headers['content-length']) !== body.length)
          this.violations.push(
            `${operation}: content-length ${req.headers['content-length']} but ${body.length} bytes`,
          );
        if (!req.headers['content-type']) this.violations.push(`${operation}: no content-type`);
        if (this.faults.raceOnUpload?.delete(name!)) {
          release.assets.push({
            id: this.nextId++,
            name: name!,
            contentType: 'application/octet-stream',
            content: Buffer.from('from another run'),
            createdAt: new Date().toISOString(),
          });
        }
        if (release.immutable && !release.draft)
          return this.send(
            res,
            operation,
            422,
            {
              message: 'Cannot upload assets to an immutable release.',
              documentation_url: 'https://docs.github.com/rest/releases/assets#upload-a-release-asset',
            },
            false,
          );
        if (release.assets.some((a) => a.name === name)) {
          return this.send(
            res,
            operation,
            422,
            {
              message: 'Validation Failed',
              errors: [{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }],
              documentation_url: 'https://docs.github.com/rest/releases/assets#upload-a-release-asset',
            },
            false,
          );
        }
        const asset: StoredAsset = {
          id: this.nextId++,
          name: name!,
          contentType: String(req.headers['content-type']),
          content: body,
          createdAt: new Date().toISOString(),
        };
        release.assets.push(asset);
        return this.send(res, operation, 201, this.assetJson(repoKey, release, asset));
      }
      case 'DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}': {
        const release = list.find((r) => r.assets.some((a) => a.id === Number(param)));
        if (!release) return this.notFound(res, operation);
        if (release.immutable && !release.draft)
          return this.send(res, operation, 422, { message: 'Cannot delete assets of an immutable release.' }, false);
        release.assets = release.assets.filter((a) => a.id !== Number(param));
        return this.send(res, operation, 204, undefined);
      }
      case 'GET /repos/{owner}/{repo}/releases/assets/{asset_id}': {
        const release = list.find((r) => r.assets.some((a) => a.id === Number(param)));
        const asset = release?.assets.find((a) => a.id === Number(param));
        if (!release || !asset) return this.notFound(res, operation);
        if (req.headers.accept === 'application/octet-stream') {
          res.writeHead(302, { location: `${this.url}/downloads/${asset.id}` }).end();
          return;
        }
        return this.send(res, operation, 200, this.assetJson(repoKey, release, asset));
      }
    }
  }

  /** GitHub's "Create GitHub App from manifest" page, submitted: the App is created, the browser sent back. */
  private registerApp(body: Buffer, url: URL, owner: string, res: ServerResponse): void {
    let manifest: Record<string, any>;
    try {
      manifest = JSON.parse(new URLSearchParams(body.toString('utf8')).get('manifest') ?? '');
    } catch {
      this.refusedManifests.push('the manifest form field is not JSON');
      return void res.writeHead(422, { 'content-type': 'text/plain' }).end('Invalid GitHub App configuration');
    }
    const problems = manifestProblems(manifest);
    if (problems.length) {
      this.refusedManifests.push(...problems);
      return void res.writeHead(422, { 'content-type': 'text/plain' }).end(problems.join('\n'));
    }
    const { code } = this.apps.register(manifest, owner);
    const back = new URL(String(manifest.redirect_url ?? manifest.url));
    back.searchParams.set('code', code);
    if (url.searchParams.has('state')) back.searchParams.set('state', url.searchParams.get('state')!);
    res.writeHead(302, { location: back.toString() }).end();
  }

  private simpleUser(login: string): Record<string, unknown> {
    const userUrl = `${this.url}/users/${login}`;
    return {
      login,
      id: 100 + login.length,
      node_id: `U_${login}`,
      avatar_url: `${userUrl}.png`,
      gravatar_id: null,
      url: userUrl,
      html_url: `${this.url}/${login}`,
      followers_url: `${userUrl}/followers`,
      following_url: `${userUrl}/following{/other_user}`,
      gists_url: `${userUrl}/gists{/gist_id}`,
      starred_url: `${userUrl}/starred{/owner}{/repo}`,
      subscriptions_url: `${userUrl}/subscriptions`,
      organizations_url: `${userUrl}/orgs`,
      repos_url: `${userUrl}/repos`,
      events_url: `${userUrl}/events{/privacy}`,
      received_events_url: `${userUrl}/received_events`,
      type: 'User',
      site_admin: false,
    };
  }

  /** GET /user as GitHub answers it for another user's token: the public profile. */
  private userJson(login: string): Record<string, unknown> {
    const now = new Date().toISOString();
    return {
      ...this.simpleUser(login),
      name: login,
      company: null,
      blog: null,
      location: null,
      email: null,
      hireable: null,
      bio: null,
      public_repos: 1,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: now,
      updated_at: now,
    };
  }

  private appJson(app: RegisteredApp): Record<string, unknown> {
    const login = app.owner;
    const userUrl = `${this.url}/users/${login}`;
    return {
      id: app.id,
      slug: app.slug,
      node_id: `A_${app.id}`,
      client_id: app.clientId,
      name: app.name,
      description: app.manifest.description ?? null,
      external_url: app.manifest.url ?? 'https://example.invalid',
      html_url: `${this.url}/apps/${app.slug}`,
      created_at: app.createdAt,
      updated_at: app.createdAt,
      permissions: app.manifest.default_permissions ?? {},
      events: app.manifest.default_events ?? [],
      owner: {
        login,
        id: 1,
        node_id: 'U_1',
        avatar_url: `${userUrl}.png`,
        gravatar_id: null,
        url: userUrl,
        html_url: `${this.url}/${login}`,
        followers_url: `${userUrl}/followers`,
        following_url: `${userUrl}/following{/other_user}`,
        gists_url: `${userUrl}/gists{/gist_id}`,
        starred_url: `${userUrl}/starred{/owner}{/repo}`,
        subscriptions_url: `${userUrl}/subscriptions`,
        organizations_url: `${userUrl}/orgs`,
        repos_url: `${userUrl}/repos`,
        events_url: `${userUrl}/events{/privacy}`,
        received_events_url: `${userUrl}/received_events`,
        type: 'User',
        site_admin: false,
      },
    };
  }

  private download(url: URL, res: ServerResponse): void {
    const id = Number(url.pathname.split('/').pop());
    const asset = [...this.repos.values()]
      .flat()
      .flatMap((r) => r.assets)
      .find((a) => a.id === id);
    if (!asset) return void res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': asset.content.length })
      .end(asset.content);
  }

  private notFound(res: ServerResponse, operation: string): void {
    this.send(res, operation, 404, {
      message: 'Not Found',
      documentation_url: 'https://docs.github.com/rest',
      status: '404',
    });
  }

  /** Sends a response, validating a JSON body against the operation's documented schema for that status. */
  private send(res: ServerResponse, operation: string, status: number, body: unknown, documented = true): void {
    const contract = subset[operation];
    if (contract && documented) {
      if (!(String(status) in contract.responses))
        this.violations.push(`${operation} answered ${status}, which GitHub does not document for it`);
      const schema = contract.responses[String(status)];
      if (schema) {
        const validate = validator(`${operation} ${status}`, schema);
        if (!validate(body))
          this.violations.push(`${operation} ${status} response: ${ajv.errorsText(validate.errors)}`);
      }
    }
    if (body === undefined) return void res.writeHead(status).end();
    const text = JSON.stringify(body);
    res
      .writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      })
      .end(text);
  }

  private user() {
    return {
      login: 'github-actions[bot]',
      id: 41898282,
      node_id: 'MDM6Qm90NDE4OTgyODI=',
      avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
      gravatar_id: '',
      url: 'https://api.github.com/users/github-actions%5Bbot%5D',
      html_url: 'https://github.com/apps/github-actions',
      followers_url: 'https://api.github.com/users/github-actions%5Bbot%5D/followers',
      following_url: 'https://api.github.com/users/github-actions%5Bbot%5D/following{/other_user}',
      gists_url: 'https://api.github.com/users/github-actions%5Bbot%5D/gists{/gist_id}',
      starred_url: 'https://api.github.com/users/github-actions%5Bbot%5D/starred{/owner}{/repo}',
      subscriptions_url: 'https://api.github.com/users/github-actions%5Bbot%5D/subscriptions',
      organizations_url: 'https://api.github.com/users/github-actions%5Bbot%5D/orgs',
      repos_url: 'https://api.github.com/users/github-actions%5Bbot%5D/repos',
      events_url: 'https://api.github.com/users/github-actions%5Bbot%5D/events{/privacy}',
      received_events_url: 'https://api.github.com/users/github-actions%5Bbot%5D/received_events',
      type: 'Bot',
      user_view_type: 'public',
      site_admin: false,
    };
  }

  private checkRunJson(run: StoredCheckRun) {
    const now = new Date().toISOString();
    return {
      id: run.id,
      node_id: `CR_${run.id}`,
      head_sha: run.headSha,
      name: run.name,
      external_id: run.externalId,
      url: `${this.url}/repos/${run.repo}/check-runs/${run.id}`,
      html_url: `https://github.com/${run.repo}/runs/${run.id}`,
      details_url: null,
      status: run.status,
      conclusion: run.conclusion,
      started_at: now,
      completed_at: run.status === 'completed' ? now : null,
      output: {
        title: run.output?.title ?? null,
        summary: run.output?.summary ?? null,
        text: run.output?.text ?? null,
        annotations_count: 0,
        annotations_url: `${this.url}/repos/${run.repo}/check-runs/${run.id}/annotations`,
      },
      check_suite: { id: 1 },
      app: null,
      pull_requests: [],
    };
  }

  private releaseJson(repo: string, r: StoredRelease) {
    const api = `${this.url}/repos/${repo}/releases/${r.id}`;
    return {
      url: api,
      html_url: `https://github.com/${repo}/releases/tag/${r.tagName}`,
      assets_url: `${api}/assets`,
      upload_url: `${this.url}/uploads/repos/${repo}/releases/${r.id}/assets{?name,label}`,
      tarball_url: `${this.url}/repos/${repo}/tarball/${r.tagName}`,
      zipball_url: `${this.url}/repos/${repo}/zipball/${r.tagName}`,
      id: r.id,
      node_id: `RE_${r.id}`,
      tag_name: r.tagName,
      target_commitish: 'main',
      name: r.name,
      body: r.body,
      draft: r.draft,
      prerelease: r.prerelease,
      immutable: r.immutable,
      created_at: r.createdAt,
      published_at: r.publishedAt,
      updated_at: r.publishedAt ?? r.createdAt,
      author: this.user(),
      assets: r.assets.map((a) => this.assetJson(repo, r, a)),
    };
  }

  private assetJson(repo: string, r: StoredRelease, a: StoredAsset) {
    return {
      url: `${this.url}/repos/${repo}/releases/assets/${a.id}`,
      browser_download_url: `https://github.com/${repo}/releases/download/${r.tagName}/${a.name}`,
      id: a.id,
      node_id: `RA_${a.id}`,
      name: a.name,
      label: '',
      state: 'uploaded',
      content_type: a.contentType,
      size: a.content.length,
      digest: `sha256:${createHash('sha256').update(a.content).digest('hex')}`,
      download_count: 0,
      created_at: a.createdAt,
      updated_at: a.createdAt,
      uploader: this.user(),
    };
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
