import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Probot } from 'probot';
import type { PgBoss } from 'pg-boss';
import { readBotConfig } from '../../src/bot/config.ts';
import { createBot, WEBHOOK_PATH, type RunningBot } from '../../src/bot/server.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { rolloutJobs, type HostJob } from '../../src/bot/store/rollouts.ts';
import type { Dependency } from '../../src/protocol/messages.ts';
import { minimalPackage } from '../../dev/minimal-package.ts';
import type { GitHubStandIn } from '../../dev/github/stand-in.ts';
import type { WebhookTarget } from '../../dev/github/webhooks.ts';
import { waitFor } from '../helpers.ts';
import { type Engine, freshPgliteFolder, freshPostgresUrl, testBox } from './databases.ts';
import type { Fleet, Outcome } from './fleet.ts';

// The bot as createBot builds it, on a store it opens itself (so it can be stopped and started again on the
// same data), with a clock tests move, the controller looking at running rollouts every 300 ms, and helpers
// that publish releases on the GitHub stand-in and register hosts of a fleet.

export const ADMIN_TOKEN = 'staged-admin-token-0123456789';
const WEBHOOK_SECRET = 'staged-webhook-secret';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

export class Clock {
  private offset = 0;
  now = () => new Date(Date.now() + this.offset);
  set(iso: string): void {
    this.offset = Date.parse(iso) - Date.now();
  }
  advance(seconds: number): void {
    this.offset += seconds * 1000;
  }
  reset(): void {
    this.offset = 0;
  }
}

export class StagedBot {
  url = '';
  private running: RunningBot | undefined;
  private readonly env: NodeJS.ProcessEnv;
  private readonly github: GitHubStandIn;
  readonly clock: Clock;

  private constructor(github: GitHubStandIn, clock: Clock, env: NodeJS.ProcessEnv) {
    this.github = github;
    this.clock = clock;
    this.env = env;
  }

  static async create(
    engine: Engine,
    github: GitHubStandIn,
    clock = new Clock(),
    env: NodeJS.ProcessEnv = {},
  ): Promise<StagedBot> {
    const store =
      engine === 'pglite' ? { C2F_DATA_DIR: await freshPgliteFolder() } : { DATABASE_URL: await freshPostgresUrl() };
    const bot = new StagedBot(github, clock, {
      APP_ID: '1',
      C2F_BOT_URL: 'http://bot.example.com',
      C2F_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      C2F_ADMIN_TOKEN: ADMIN_TOKEN,
      C2F_CHECK_RUN_DELAY_SECONDS: '0',
      ...store,
      ...env,
    });
    await bot.start();
    return bot;
  }

  get boss(): PgBoss {
    return this.running!.deps.boss;
  }

  get db(): Database {
    return this.running!.deps.db;
  }

  async start(): Promise<void> {
    const probot = new Probot({
      appId: 1,
      privateKey,
      secret: WEBHOOK_SECRET,
      baseUrl: this.github.url,
      logLevel: 'fatal',
    } as ConstructorParameters<typeof Probot>[0]);
    this.running = await createBot(probot, readBotConfig(this.env), {
      now: this.clock.now,
      rolloutTickSeconds: 0.3,
      resolveRetryLimit: 5,
      queue: { resolveRetry: { retryDelay: 1, retryDelayMax: 1 } },
      delivery: { retrySchedule: [0.5, 0.5] },
    });
    await new Promise<void>((resolve) => this.running!.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.running.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await this.running?.stop();
    this.running = undefined;
  }

  async admin<T = any>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}/api/admin/${route}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'content-type': 'application/json',
        'x-c2f-operator': 'tester',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text) as T,
    };
  }

  /** A host of the fleet following `plugins` (owner/repo:id), with what its site already has. */
  async addHost(
    fleet: Fleet,
    name: string,
    plugins: string[],
    options: { labels?: string[]; outcome?: Outcome; site?: Record<string, string>; extra?: object } = {},
  ): Promise<string> {
    const added = await this.admin('POST', 'hosts', {
      name,
      url: fleet.hostUrl(name),
      plugins,
      allowPrivateNetwork: true,
      allowHttp: true,
      labels: options.labels ?? [],
      ...options.extra,
    });
    if (added.status !== 201) throw new Error(`hosts add ${name}: ${JSON.stringify(added.body)}`);
    const { host, secret } = added.body as { host: { id: string }; secret: string };
    fleet.register(host.id, secret, options.outcome ?? 'ok', options.site ?? {});
    const inventory = Object.entries(options.site ?? {}).map(([pluginId, version]) => ({
      pluginId,
      version,
      sha256: null,
      at: new Date(0).toISOString(),
    }));
    if (inventory.length)
      await this.db.query('update hosts set inventory = $2 where id = $1', [host.id, JSON.stringify(inventory)]);
    return host.id;
  }

  /** Publishes plugin-<id>-v<version> in `repository` with a real package; returns the release id. */
  async publish(
    repository: string,
    pluginId: string,
    version: string,
    dependencies: Dependency[] = [],
    options: {
      prerelease?: boolean;
      assets?: (
        zip: Buffer,
      ) => Array<{ name: string; content: Buffer }> | Promise<Array<{ name: string; content: Buffer }>>;
    } = {},
  ): Promise<number> {
    const zip = await minimalPackage(pluginId, version, { dependencies });
    const { release, webhook } = await this.github.publishRelease(
      this.webhookTarget(),
      repository,
      {
        tagName: `plugin-${pluginId}-v${version}`,
        zip,
        prerelease: options.prerelease,
        assets: await options.assets?.(zip),
      },
      options.prerelease ? { action: 'prereleased' } : {},
    );
    if (webhook.status !== 200) throw new Error(`webhook answered ${webhook.status}: ${webhook.body}`);
    return release.id;
  }

  webhookTarget(): WebhookTarget {
    return { url: `${this.url}${WEBHOOK_PATH}`, secret: WEBHOOK_SECRET };
  }

  async rolloutOf(releaseId: number): Promise<string> {
    return waitFor(
      async () =>
        (
          await this.db.query<{ id: string }>("select id from rollouts where release_id = $1 and kind = 'release'", [
            releaseId,
          ])
        )[0]?.id,
      `the rollout of release ${releaseId}`,
    );
  }

  async rollout(rolloutId: string): Promise<{
    state: string;
    stateReason: string | null;
    currentWave: number;
    waves: Array<{ name: string; state: string; ok: number; failed: number; pending: number; jobs: number }>;
  }> {
    return (await this.admin('GET', `rollouts/${rolloutId}`)).body;
  }

  jobs(rolloutId: string): Promise<HostJob[]> {
    return rolloutJobs(this.db, rolloutId);
  }

  /** Waits for check; when it times out, the failure tells the rollout's state and its jobs' histories. */
  async until<T>(
    what: string,
    check: () => Promise<T | undefined | false>,
    ms = 30_000,
    rolloutId?: string,
  ): Promise<T> {
    try {
      return await waitFor(check, what, ms);
    } catch (error) {
      if (!rolloutId) throw error;
      const [rollout] = await this.db.query('select state, state_reason, current_wave from rollouts where id = $1', [
        rolloutId,
      ]);
      const history = await this.db.query(
        `select j.host_id, j.state, j.hold, h.state as was, h.detail, h.at from host_jobs j
         left join job_history h on h.job_id = j.id where j.rollout_id = $1 order by j.host_id, h.at`,
        [rolloutId],
      );
      throw new Error(
        `${(error as Error).message}; rollout ${JSON.stringify(rollout)}; jobs ${JSON.stringify(history)}`,
      );
    }
  }
}

export { testBox };
