// bench/fanout: 1,000 registered hosts served by local receivers. In one run: time from a release webhook's
// arrival to the last host's 2xx, against a bare loop that POSTs a signed body to each host with undici, 16 at
// a time, run just before each release (paired, so a machine that slows down for a while slows both sides of
// a ratio); on PGlite and on PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL, a role that may create
// databases). Also webhook-ack latency p50/p99 under 50 concurrent deliveries.
// BENCH_ROUNDS: releases timed per engine (default 9: the machine's noise moves single pairs by a third).
// Goal: fan-out within 3x of the bare loop on PostgreSQL; webhook ack p99 under 100 ms.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Probot } from 'probot';
import { Agent, request } from 'undici';
import { readBotConfig } from '../src/bot/config.ts';
import { createBot, WEBHOOK_PATH } from '../src/bot/server.ts';
import { releasePayload, signedWebhook, type WebhookTarget } from '../dev/github/webhooks.ts';
import { openPglite, openPostgres, type Database } from '../src/bot/store/database.ts';
import { addHost } from '../src/bot/store/hosts.ts';
import { SecretBox } from '../src/bot/store/secret-box.ts';
import { generateSecret, signMessage } from '../src/protocol/signing.ts';
import { minimalPackage } from '../dev/minimal-package.ts';
import { GitHubStandIn } from '../dev/github/stand-in.ts';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000);
const CONCURRENCY = 16;
const SECRET_KEY = Buffer.alloc(32, 9).toString('base64');
const box = SecretBox.fromEnvironment(SECRET_KEY);
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const WEBHOOK_SECRET = 'bench';

// Receivers: one server, one path per host; records when each host got its job.
let received = 0;
let lastAt = 0;
let firstAt = 0;
let onCount: (() => void) | undefined;
const receiver = createServer((req, res) => {
  req.resume().on('end', () => {
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted","jobId":"x"}');
    received++;
    lastAt = performance.now();
    if (received === 1) firstAt = lastAt;
    onCount?.();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
const github = await new GitHubStandIn().start();

// GitHub's side of the ack measurement runs on its own thread, as GitHub is another machine: the time is
// the bot's, not the sender's.
const SENDER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
// Each delivery on a new connection, as GitHub sends them; node:http, a light client, so the time is the bot's.
const post = (hook) => new Promise((resolve, reject) => {
  const t0 = performance.now();
  const req = http.request(workerData.url, { method: 'POST', headers: hook.headers, agent: false }, (res) => {
    res.resume().on('end', () => res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error('webhook answered ' + res.statusCode)));
  });
  req.on('error', reject);
  req.end(hook.body);
});
Promise.all(workerData.hooks.map(post)).then((times) => parentPort.postMessage(times));
`;

function sendConcurrently(
  url: string,
  hooks: Array<{ body: string; headers: Record<string, string> }>,
): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SENDER, { eval: true, workerData: { url, hooks } });
    worker.once('message', (times: number[]) => resolve(times));
    worker.once('error', reject);
  });
}

function cpuMs(since: NodeJS.CpuUsage): string {
  const used = process.cpuUsage(since);
  return ((used.user + used.system) / 1000).toFixed(0);
}

function waitForReceived(n: number): Promise<void> {
  return new Promise((resolve) => {
    if (received >= n) return resolve();
    onCount = () => {
      if (received >= n) {
        onCount = undefined;
        resolve();
      }
    };
  });
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

async function bareLoop(): Promise<number> {
  const agent = new Agent({ connections: CONCURRENCY });
  const secret = generateSecret();
  const body = JSON.stringify({ type: 'job', protocol: 1, jobId: 'job_x', package: { sha256: 'a'.repeat(64) } });
  const started = performance.now();
  const cpu = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < HOSTS) {
        const i = next++;
        const response = await request(`${receiverUrl}/h${i}`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...signMessage(body, [secret], `msg_${i}`) },
          dispatcher: agent,
        });
        await response.body.dump();
      }
    }),
  );
  await agent.close();
  if (process.env.BENCH_VERBOSE) console.log(`bare loop: ${cpuMs(cpu)} ms of CPU`);
  return performance.now() - started;
}

function webhook(target: WebhookTarget, releaseId: number, tag: string) {
  return signedWebhook(
    target,
    'release',
    releasePayload({ repository: 'conn2flow/plugins', release: { id: releaseId, tagName: tag }, installationId: 5 }),
  );
}

async function run(label: string, db: Database): Promise<Result> {
  const probot = new Probot({
    appId: 1,
    privateKey,
    secret: WEBHOOK_SECRET,
    baseUrl: github.url,
    logLevel: 'fatal',
  } as ConstructorParameters<typeof Probot>[0]);
  // The same composition root as `c2f-plugin bot`, on the database this run measures.
  const bot = await createBot(
    probot,
    readBotConfig({
      APP_ID: '1',
      C2F_BOT_URL: 'http://bot.example.com',
      C2F_SECRET_KEY: SECRET_KEY,
      C2F_CHECK_RUN_DELAY_SECONDS: '5',
    }),
    { db },
  );
  const { server } = bot;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const botUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}${WEBHOOK_PATH}`;
  const target: WebhookTarget = { url: botUrl, secret: WEBHOOK_SECRET };
  for (let i = 0; i < HOSTS; i++) {
    await addHost(db, box, {
      name: `h${i}`,
      url: `${receiverUrl}/h${i}`,
      policy: 'auto',
      channel: 'stable',
      plugins: [
        { repository: 'conn2flow/plugins', pluginId: 'bench-plugin' },
        { repository: 'conn2flow/plugins', pluginId: 'warm-up' },
      ],
      allowPrivateNetwork: true,
    });
  }
  // Warm-up: a release of another plugin to every host, so the timed runs measure a bot that has rolled out a
  // release before, not the first use of each code path at this scale (V8 has not optimized the per-job code
  // yet, nor has the GitHub stand-in compiled its OpenAPI validators). Its time is reported as the cold start.
  const warmTag = `plugin-warm-up-v1.0.${label === 'pglite' ? 0 : 1}`;
  const warmZip = await minimalPackage('warm-up', `1.0.${label === 'pglite' ? 0 : 1}`);
  received = 0;
  const warmStarted = performance.now();
  await github.publishRelease(target, 'conn2flow/plugins', { tagName: warmTag, zip: warmZip }, { installationId: 5 });
  await waitForReceived(HOSTS);
  const cold = lastAt - warmStarted;
  await new Promise((resolve) => setTimeout(resolve, 1500)); // its check run and reports settle

  // Releases in a row (each a new version for every host), each just after a bare loop: the medians of both,
  // and of the ratios of each pair, are reported.
  const times: number[] = [];
  const bares: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const tag = `plugin-bench-plugin-v1.${label === 'pglite' ? 0 : 1}.${round}`;
    const zip = await minimalPackage('bench-plugin', `1.${label === 'pglite' ? 0 : 1}.${round}`, { padding: 8192 });
    bares.push(await bareLoop());
    received = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    const { webhook: answer } = await github.publishRelease(
      target,
      'conn2flow/plugins',
      { tagName: tag, zip },
      { installationId: 5 },
    );
    if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}`);
    await waitForReceived(HOSTS);
    times.push(lastAt - started);
    ratios.push((lastAt - started) / bares[round]);
    if (process.env.BENCH_VERBOSE)
      console.log(
        `${label}: ${(lastAt - started).toFixed(0)} ms, first push after ${(firstAt - started).toFixed(0)} ms; ${cpuMs(cpu)} ms of CPU in this process`,
      );
    await new Promise((resolve) => setTimeout(resolve, 500)); // the rollout's check run settles
  }

  // 50 concurrent deliveries of webhooks (releases of tags that name no plugin: stored, queued, answered).
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the last rollout's check run and writes settle first
  const hooks = Array.from({ length: 50 }, (_, i) =>
    webhook(target, 500_000 + i + (label === 'pglite' ? 0 : 1000), `docs-${label}-${i}`),
  );
  const acks = await sendConcurrently(botUrl, hooks);
  acks.sort((a, b) => a - b);
  await bot.stop();
  await db.close();
  return {
    fanout: median(times),
    bare: median(bares),
    ratio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    cold,
    ackP50: acks[Math.floor(acks.length * 0.5)],
    ackP99: acks[Math.min(acks.length - 1, Math.ceil(acks.length * 0.99) - 1)],
  };
}

interface Result {
  fanout: number;
  bare: number;
  ratio: number;
  /** The lowest and highest ratio of the run's pairs: how far one release, timed alone, may land from the median. */
  ratioRange: [number, number];
  cold: number;
  ackP50: number;
  ackP99: number;
}

const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const dir = await mkdtemp(path.join(tmpdir(), 'c2f-bench-fanout-'));
const results: Array<[string, Result]> = [];
// BENCH_ENGINES=postgres (or pglite) runs one engine only, e.g. under a profiler.
const engines = (process.env.BENCH_ENGINES ?? 'pglite,postgres').split(',');
if (engines.includes('pglite')) {
  results.push(['PGlite', await run('pglite', await openPglite(path.join(dir, 'data')))]);
}
if (baseUrl && engines.includes('postgres')) {
  const name = `c2f_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  results.push(['PostgreSQL', await run('postgres', openPostgres(url.toString(), 10))]);
  await admin.query(`drop database ${name} with (force)`);
  await admin.end();
} else if (!baseUrl) {
  console.log('PostgreSQL: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)');
}
for (const [label, r] of results) {
  const goal = label === 'PostgreSQL' ? ` (goal <= 3: ${r.ratio <= 3 ? 'met' : 'missed'})` : '';
  console.log(
    `${label}: webhook to last of ${HOSTS} hosts' 2xx: ${r.fanout.toFixed(0)} ms (median of ${ROUNDS} releases; the first release after the start: ${r.cold.toFixed(0)} ms); bare undici loop (concurrency ${CONCURRENCY}), run before each: ${r.bare.toFixed(0)} ms (median); ratio ${r.ratio.toFixed(2)} (median of the ${ROUNDS} pairs, which ranged ${r.ratioRange.map((x) => x.toFixed(2)).join('–')})${goal}`,
  );
  console.log(
    `${label}: webhook ack under 50 concurrent deliveries: p50 ${r.ackP50.toFixed(0)} ms, p99 ${r.ackP99.toFixed(0)} ms (goal p99 < 100 ms: ${r.ackP99 < 100 ? 'met' : 'missed'})`,
  );
}
await github.stop();
receiver.close();
await rm(dir, { recursive: true, force: true });
process.exit(0);
