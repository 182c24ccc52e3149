// A bot process for tests, built by the same composition root as `c2f-plugin bot` (createBot), with GitHub
// pointed at the local stand-in and the store's waits shortened. Environment: DATABASE_URL or C2F_DATA_DIR,
// GITHUB_API, PRIVATE_KEY, WEBHOOK_SECRET, C2F_SECRET_KEY; EXPIRE_SECONDS (pg-boss's takeover of a dead
// process's queue entries, 120 s as in production unless set); PUSH_TIMEOUT_MS and LEASE_SECONDS (2000 ms, 5 s).
// SIGTERM stops it as \`c2f-plugin bot\` stops.
import { Probot } from 'probot';
import type { AddressInfo } from 'node:net';
import { readBotConfig } from '../../src/bot/config.ts';
import { createBot } from '../../src/bot/server.ts';

const env = process.env;
const probot = new Probot({
  appId: 1,
  privateKey: env.PRIVATE_KEY!,
  secret: env.WEBHOOK_SECRET!,
  baseUrl: env.GITHUB_API,
  logLevel: 'fatal',
} as ConstructorParameters<typeof Probot>[0]);
const config = readBotConfig({ ...env, C2F_BOT_URL: 'http://bot.example.com', APP_ID: '1' });
const bot = await createBot(probot, config, {
  queue: {
    resolveRetry: { retryDelay: 1, retryDelayMax: 1 },
    expireInSeconds: Number(env.EXPIRE_SECONDS ?? 120),
    crashRetryDelaySeconds: 1,
    superviseIntervalSeconds: 1,
    monitorIntervalSeconds: 1,
  },
  delivery: {
    retrySchedule: [0.5, 0.5, 0.5],
    timeoutMs: Number(env.PUSH_TIMEOUT_MS ?? 2000),
    leaseSeconds: Number(env.LEASE_SECONDS ?? 5),
  },
});
bot.server.listen(0, '127.0.0.1', () =>
  process.stdout.write(`listening ${(bot.server.address() as AddressInfo).port}\n`),
);
process.once('SIGTERM', () => bot.stop().then(() => process.exit(0)));
