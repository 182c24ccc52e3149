// GitHub Apps in the stand-in: registration from a manifest (the web page's POST and its redirect with a
// one-time code), the code's conversion into credentials, the App's JWTs (RS256, signed by its key, checked
// as GitHub checks them) and webhook deliveries to the URL the App was registered with.
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { sendWebhook } from './webhooks.ts';

export interface RegisteredApp {
  id: number;
  slug: string;
  name: string;
  owner: string;
  /** The manifest as the registration page received it. */
  manifest: Record<string, any>;
  pem: string;
  publicKey: KeyObject;
  webhookSecret: string;
  clientId: string;
  clientSecret: string;
  createdAt: string;
}

/** What GitHub's registration page refuses (it shows the problem instead of creating the App). */
export function manifestProblems(manifest: Record<string, any>): string[] {
  const problems: string[] = [];
  if (typeof manifest.url !== 'string' || !/^https?:\/\//.test(manifest.url)) problems.push('url must be a URL');
  if (typeof manifest.name === 'string' && manifest.name.length > 34)
    problems.push('name is longer than 34 characters');
  const hook = manifest.hook_attributes;
  if (hook?.active !== false && (typeof hook?.url !== 'string' || !/^https?:\/\//.test(hook.url)))
    problems.push('hook_attributes.url must be a URL when the webhook is active');
  if (manifest.redirect_url !== undefined && !/^https?:\/\//.test(String(manifest.redirect_url)))
    problems.push('redirect_url must be a URL');
  if (manifest.public !== undefined && typeof manifest.public !== 'boolean') problems.push('public must be a boolean');
  const permissions = manifest.default_permissions ?? {};
  // Each event needs the permission that covers it.
  const needs: Record<string, string> = { release: 'contents', check_run: 'checks', push: 'contents' };
  for (const event of manifest.default_events ?? []) {
    if (needs[event] && !permissions[needs[event]])
      problems.push(`the ${event} event needs the ${needs[event]} permission`);
  }
  return problems;
}

export class AppRegistry {
  readonly apps: RegisteredApp[] = [];
  /** Webhooks delivered to registered Apps: where, and the answer. */
  readonly deliveries: Array<{ appId: number; url: string; event: string; status: number }> = [];
  private readonly codes = new Map<string, RegisteredApp>();
  private nextId = 900_001;

  /** The registration page: creates the App and returns the one-time code for its redirect. */
  register(manifest: Record<string, any>, owner: string): { app: RegisteredApp; code: string } {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const name = String(manifest.name ?? `app-${this.nextId}`);
    const app: RegisteredApp = {
      id: this.nextId++,
      slug: name.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      name,
      owner,
      manifest,
      pem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      publicKey,
      webhookSecret: randomBytes(20).toString('hex'),
      clientId: `Iv23${randomBytes(8).toString('hex')}`,
      clientSecret: randomBytes(20).toString('hex'),
      createdAt: new Date().toISOString(),
    };
    this.apps.push(app);
    const code = randomBytes(10).toString('hex');
    this.codes.set(code, app);
    return { app, code };
  }

  /** A code converts once, as on GitHub. */
  convert(code: string): RegisteredApp | undefined {
    const app = this.codes.get(code);
    this.codes.delete(code);
    return app;
  }

  /** The App a JWT authenticates, or why not. */
  authenticate(authorization: string | undefined): RegisteredApp | string {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
    const parts = token?.split('.');
    if (parts?.length !== 3) return 'A JSON web token could not be decoded';
    let claims: { iss?: unknown; exp?: number; iat?: number };
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return 'A JSON web token could not be decoded';
    }
    const app = this.apps.find((a) => String(a.id) === String(claims.iss) || a.clientId === claims.iss);
    if (!app) return `Integration not found (iss ${String(claims.iss)})`;
    const signed = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      app.publicKey,
      Buffer.from(parts[2], 'base64url'),
    );
    if (!signed) return 'A JSON web token could not be decoded';
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp < now || claims.exp - now > 600)
      return "'Expiration time' claim ('exp') is too far in the future or has passed";
    return app;
  }

  /** Delivers a webhook the way GitHub does: to the App's hook URL, signed with its secret. */
  async deliver(app: RegisteredApp, event: string, payload: unknown): Promise<number> {
    const url = String(app.manifest.hook_attributes.url);
    const { status } = await sendWebhook({ url, secret: app.webhookSecret }, event, payload);
    this.deliveries.push({ appId: app.id, url, event, status });
    return status;
  }

  /** Lets an App whose key a test made itself authenticate. */
  trust(
    id: number,
    privateKeyPem: string,
    webhookSecret: string,
    manifest: Record<string, unknown> = {},
  ): RegisteredApp {
    const app: RegisteredApp = {
      id,
      slug: `app-${id}`,
      name: `App ${id}`,
      owner: 'conn2flow',
      manifest: { hook_attributes: { url: 'https://example.invalid/' }, ...manifest },
      pem: privateKeyPem,
      publicKey: createPublicKey(privateKeyPem),
      webhookSecret,
      clientId: `Iv23app${id}`,
      clientSecret: 'secret',
      createdAt: new Date().toISOString(),
    };
    this.apps.push(app);
    return app;
  }
}
