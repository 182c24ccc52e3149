// bench/pull-idle: what pull-mode hosts cost the database while nothing happens. The bot (the same
// composition root as `c2f-plugin bot`) runs on PostgreSQL with 500 pull hosts; the database's CPU (every
// PostgreSQL server process, from /proc) is measured over the same window twice in one run: with no host
// polling (the baseline: the bot's own queue and timers), and with all 500 hosts long-polling as agents do
// (pollSeconds 30, a new poll as soon as one is answered). Goal: the polls add under 5 % of one core.
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Probot } from 'probot';
import { Agent, request } from 'undici';
import { GitHubStandIn } from '../dev/github/stand-in.ts';
import { readBotConfig } from '../src/bot/config.ts';
import { createBot } from '../src/bot/server.ts';
import { openPostgres } from '../src/bot/store/database.ts';
import { addHost } from '../src/bot/store/hosts.ts';
import { SecretBox } from '../src/bot/store/secret-box.ts';
import { signMessage } from '../src/protocol/signing.ts';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 500);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 60_000);
const POLL_SECONDS = 30;
const SECRET_KEY = Buffer.alloc(32, 7).toString('base64');
const GOAL_PERCENT = 5;

const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!baseUrl) {
  console.log('pull-idle: needs PostgreSQL (set BENCH_DATABASE_URL or TEST_DATABASE_URL)');
  process.exit(0);
}

/** CPU seconds used so far by every PostgreSQL server process this machine runs. */
function postgresCpuSeconds(): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'postgres' && !comm.startsWith('postgres:')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick; // utime, stime
    } catch {
      // the process ended while we read
    }
  }
  return total;
}

async function cpuPercentOver(ms: number): Promise<number> {
  const before = postgresCpuSeconds();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ((postgresCpuSeconds() - before) / ((performance.now() - started) / 1000)) * 100;
}

const name = `c2f_bench_pull_${process.pid}`;
const admin = new pg.Client({ connectionString: baseUrl });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(baseUrl);
url.pathname = `/${name}`;
const db = openPostgres(url.toString(), 10);
const github = new GitHubStandIn();
await github.start();
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const probot = new Probot({
  appId: 1,
  privateKey,
  secret: 'bench',
  baseUrl: github.url,
  logLevel: 'fatal',
} as ConstructorParameters<typeof Probot>[0]);
const bot = await createBot(
  probot,
  readBotConfig({ APP_ID: '1', C2F_BOT_URL: 'http://bot.example.com', C2F_SECRET_KEY: SECRET_KEY }),
  { db },
);
await new Promise<void>((resolve) => bot.server.listen(0, '127.0.0.1', resolve));
const heartbeatUrl = `http://127.0.0.1:${(bot.server.address() as AddressInfo).port}/api/heartbeat`;
const box = SecretBox.fromEnvironment(SECRET_KEY);
const hosts: Array<{ id: string; secret: string }> = [];
for (let i = 0; i < HOSTS; i++) {
  const { host, secret } = await addHost(db, box, {
    name: `pull-${i}`,
    url: null,
    policy: 'auto',
    channel: 'stable',
    plugins: [{ repository: 'conn2flow/plugins', pluginId: 'bench-plugin' }],
  });
  hosts.push({ id: host.id, secret });
}

// Settle: the bot's start-up work (queues, schedules) is not what is measured.
await cpuPercentOver(5000);
const idle = await cpuPercentOver(WINDOW_MS);

const dispatcher = new Agent({ connections: HOSTS * 2, headersTimeout: (POLL_SECONDS + 30) * 1000 });
let polling = true;
let polls = 0;
let sequence = 0;
async function pollForever(host: { id: string; secret: string }): Promise<void> {
  while (polling) {
    const body = JSON.stringify({
      type: 'heartbeat',
      protocol: 1,
      hostId: host.id,
      agentVersion: '0.1.0',
      inventory: [],
      pollSeconds: POLL_SECONDS,
      sentAt: new Date().toISOString(),
    });
    const response = await request(heartbeatUrl, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...signMessage(body, [host.secret], `msg_poll_${sequence++}`) },
      dispatcher,
    });
    await response.body.dump();
    if (response.statusCode !== 200) throw new Error(`a poll was answered ${response.statusCode}`);
    polls++;
  }
}
const failures: Error[] = [];
const pollers = hosts.map((host) =>
  pollForever(host).catch((error: Error) => {
    if (polling) failures.push(error);
  }),
);
// Every host's first poll records its heartbeat: start measuring once they all wait.
await new Promise((resolve) => setTimeout(resolve, 5000));
const polled = await cpuPercentOver(WINDOW_MS);
polling = false;
if (failures.length) throw new Error(`${failures.length} polls failed, the first: ${failures[0].message}`);

console.log(`PostgreSQL, ${HOSTS} pull hosts, ${WINDOW_MS / 1000} s windows:`);
console.log(`  database CPU with no host polling: ${idle.toFixed(1)} % of one core`);
console.log(
  `  database CPU with ${HOSTS} hosts long-polling (${polls} polls answered): ${polled.toFixed(1)} % of one core`,
);
const added = polled - idle;
console.log(
  `  added by the polls: ${added.toFixed(1)} % of one core (goal < ${GOAL_PERCENT} %: ${added < GOAL_PERCENT ? 'met' : 'not met'})`,
);
console.log(`  ratio polling / idle: ${(polled / Math.max(idle, 0.1)).toFixed(2)}`);

bot.server.closeAllConnections();
await bot.stop();
await dispatcher.destroy();
await Promise.allSettled(pollers);
await db.close().catch(() => {});
await github.stop();
await admin.query(`drop database ${name} with (force)`);
await admin.end();
process.exit(0);
