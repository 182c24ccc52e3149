// bench/console: the console's fleet page for 10,000 hosts (its first page: server time to the first byte and
// to the complete response), against the admin API's JSON of the same page (GET /api/admin/fleet), and the page
// of a rollout to 1,000 of them (its first 100 jobs, waves and actions) against the admin API's JSON of that
// rollout, in the same run, on the same bot (median of 15 requests each, after a warm-up). On PGlite and on
// PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL). Goals: the fleet page within 2x of its JSON; the rollout
// page's first byte within 2x of its JSON's.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Probot } from 'probot';
import { request } from 'undici';
import { newSession, sealSession, SESSION_COOKIE } from '../src/bot/console/session.ts';
import { readBotConfig } from '../src/bot/config.ts';
import { createBot } from '../src/bot/server.ts';
import { openPglite, openPostgres, type Database } from '../src/bot/store/database.ts';
import { migrate } from '../src/bot/store/migrate.ts';
import { SecretBox } from '../src/bot/store/secret-box.ts';
import { planJobs } from '../src/bot/rollout/plan-jobs.ts';
import { startSession } from '../src/bot/store/console-sessions.ts';
import { hostsWithIds } from '../src/bot/store/hosts.ts';
import { getRelease, recordReleaseWebhooks, updateRelease } from '../src/bot/store/releases.ts';
import { createReleaseRollout } from '../src/bot/store/rollouts.ts';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 10_000);
const ROUNDS = 15;
const SECRET_KEY = Buffer.alloc(32, 5).toString('base64');
const ADMIN = 'bench-admin-token-0123456789';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function seed(db: Database): Promise<void> {
  await migrate(db);
  await db.query(
    `insert into hosts (id, name, url, policy, channel, secret_sealed, enrolled_at, last_seen_at, labels, inventory)
     select 'host_' || lpad(g::text, 5, '0'), 'site ' || lpad(g::text, 5, '0'), 'https://site' || g || '.example.com/c2f', 'auto', 'stable', 'sealed', now(), now() - (g % 100) * interval '1 minute',
            case when g % 100 = 0 then array['canary'] else array['eu'] end,
            jsonb_build_array(jsonb_build_object('pluginId', 'shop', 'version', '1.' || (g % 7) || '.0', 'sha256', null))
     from generate_series(1, $1) g`,
    [HOSTS],
  );
  await db.query(
    "insert into subscriptions (host_id, repository, plugin_id) select 'host_' || lpad(g::text, 5, '0'), 'conn2flow/plugins', 'shop' from generate_series(1, $1) g",
    [HOSTS],
  );
}

/** A release of shop 2.0.0 rolled out to the first 1,000 hosts (its jobs as planning writes them). */
async function seedRollout(db: Database): Promise<string> {
  const release = { id: 1, repository: 'conn2flow/plugins', tag: 'plugin-shop-v2.0.0' };
  await recordReleaseWebhooks(db, [
    {
      deliveryId: 'bench',
      action: 'published',
      release: { ...release, installationId: 1, prerelease: false, privateRepository: false },
    },
  ]);
  await updateRelease(db, 1, {
    state: 'resolved',
    pluginId: 'shop',
    version: '2.0.0',
    zipAssetId: 1,
    zipSize: 4096,
    zipSha256: 'a'.repeat(64),
    zipUrl: 'https://github.com/conn2flow/plugins/releases/download/plugin-shop-v2.0.0/gestor-plugin.zip',
  });
  const row = (await getRelease(db, 1))!;
  const ids = Array.from({ length: Math.min(1000, HOSTS) }, (_, i) => `host_${String(i + 1).padStart(5, '0')}`);
  const hosts = [...(await hostsWithIds(db, ids)).values()];
  const planned = planJobs(
    {
      id: 1,
      repository: release.repository,
      pluginId: 'shop',
      version: '2.0.0',
      prerelease: false,
      sha256: row.zipSha256!,
    },
    hosts,
  );
  return (await createReleaseRollout(db, row, planned)).rolloutId;
}

async function timed(
  url: string,
  headers: Record<string, string>,
): Promise<{ ttfb: number; total: number; bytes: number }> {
  const started = performance.now();
  const response = await request(url, { headers });
  const ttfb = performance.now() - started;
  const body = Buffer.from(await response.body.arrayBuffer());
  if (response.statusCode !== 200)
    throw new Error(`${url} answered ${response.statusCode}: ${body.toString('utf8').slice(0, 300)}`);
  return { ttfb, total: performance.now() - started, bytes: body.length };
}

async function run(label: string, db: Database) {
  await seed(db);
  const config = readBotConfig({
    APP_ID: '1',
    C2F_BOT_URL: 'http://bot.example.com',
    C2F_SECRET_KEY: SECRET_KEY,
    C2F_ADMIN_TOKEN: ADMIN,
    GITHUB_CLIENT_ID: 'Iv23bench',
    GITHUB_CLIENT_SECRET: 'bench',
    C2F_CONSOLE_USERS: 'octo-operator',
  });
  const probot = new Probot({ appId: 1, privateKey, secret: 'bench', logLevel: 'fatal' } as ConstructorParameters<
    typeof Probot
  >[0]);
  const bot = await createBot(probot, config, { db });
  await new Promise<void>((resolve) => bot.server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(bot.server.address() as AddressInfo).port}`;
  const signedIn = newSession('octo-operator', null);
  await startSession(db, {
    id: signedIn.id,
    login: signedIn.login,
    viaOrg: false,
    expiresAt: new Date(signedIn.expires),
  });
  const session = sealSession(SecretBox.fromEnvironment(SECRET_KEY), signedIn);
  const rolloutId = await seedRollout(db);
  const page = {
    url: `${base}/console/fleet`,
    headers: { cookie: `${SESSION_COOKIE}=${encodeURIComponent(session)}` },
  };
  const json = { url: `${base}/api/admin/fleet?page=1&perPage=50`, headers: { authorization: `Bearer ${ADMIN}` } };
  for (let i = 0; i < 3; i++) {
    await timed(page.url, page.headers);
    await timed(json.url, json.headers);
  }
  const rolloutPage = { url: `${base}/console/rollouts/${rolloutId}`, headers: page.headers };
  const rolloutJson = { url: `${base}/api/admin/rollouts/${rolloutId}`, headers: json.headers };
  for (let i = 0; i < 3; i++) {
    await timed(rolloutPage.url, rolloutPage.headers);
    await timed(rolloutJson.url, rolloutJson.headers);
  }
  const pages: Array<Awaited<ReturnType<typeof timed>>> = [];
  const jsons: Array<Awaited<ReturnType<typeof timed>>> = [];
  const rolloutPages: Array<Awaited<ReturnType<typeof timed>>> = [];
  const rolloutJsons: Array<Awaited<ReturnType<typeof timed>>> = [];
  for (let i = 0; i < ROUNDS; i++) {
    pages.push(await timed(page.url, page.headers));
    jsons.push(await timed(json.url, json.headers));
    rolloutPages.push(await timed(rolloutPage.url, rolloutPage.headers));
    rolloutJsons.push(await timed(rolloutJson.url, rolloutJson.headers));
  }
  const summary = (list: typeof pages) => ({
    ttfb: median(list.map((p) => p.ttfb)),
    total: median(list.map((p) => p.total)),
    bytes: list[0].bytes,
  });
  await bot.stop();
  await db.close();
  return {
    label,
    page: summary(pages),
    json: summary(jsons),
    rolloutPage: summary(rolloutPages),
    rolloutJson: summary(rolloutJsons),
  };
}

const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const dir = await mkdtemp(path.join(tmpdir(), 'c2f-bench-console-'));
const results: Array<Awaited<ReturnType<typeof run>>> = [];
const engines = (process.env.BENCH_ENGINES ?? 'pglite,postgres').split(',');
if (engines.includes('pglite')) results.push(await run('PGlite', await openPglite(path.join(dir, 'data'))));
if (baseUrl && engines.includes('postgres')) {
  const name = `c2f_bench_console_${process.pid}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  results.push(await run('PostgreSQL', openPostgres(url.toString(), 10)));
  await admin
    .query(`drop database ${name} with (force)`)
    .catch((error) => console.error(`could not drop ${name}: ${error.message}`));
  await admin.end();
} else if (!baseUrl) {
  console.log('PostgreSQL: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)');
}
for (const r of results) {
  const ratio = r.page.total / r.json.total;
  console.log(
    `${r.label}: fleet page of ${HOSTS} hosts (50 shown): first byte ${r.page.ttfb.toFixed(1)} ms, complete ${r.page.total.toFixed(1)} ms (${(r.page.bytes / 1024).toFixed(0)} KiB); admin API JSON of the same page: first byte ${r.json.ttfb.toFixed(1)} ms, complete ${r.json.total.toFixed(1)} ms (${(r.json.bytes / 1024).toFixed(0)} KiB); ratio ${ratio.toFixed(2)} (goal <= 2: ${ratio <= 2 ? 'met' : 'missed'}) (median of ${ROUNDS})`,
  );
  const first = r.rolloutPage.ttfb / r.rolloutJson.ttfb;
  console.log(
    `${r.label}: rollout page of 1000 hosts (100 jobs shown): first byte ${r.rolloutPage.ttfb.toFixed(1)} ms, complete ${r.rolloutPage.total.toFixed(1)} ms (${(r.rolloutPage.bytes / 1024).toFixed(0)} KiB); admin API JSON of the rollout (every job): first byte ${r.rolloutJson.ttfb.toFixed(1)} ms, complete ${r.rolloutJson.total.toFixed(1)} ms (${(r.rolloutJson.bytes / 1024).toFixed(0)} KiB); first-byte ratio ${first.toFixed(2)} (goal <= 2: ${first <= 2 ? 'met' : 'missed'}) (median of ${ROUNDS})`,
  );
}
await rm(dir, { recursive: true, force: true });
process.exit(0);
