// A bot process for tests: the real server, store and queue, with GitHub pointed at the local stand-in.
// Environment: DATABASE_URL (PostgreSQL) or C2F_DATA_DIR, GITHUB_API, PRIVATE_KEY, WEBHOOK_SECRET.
import { Probot } from 'probot';
import type { AddressInfo } from 'node:net';
import { startQueue } from '../../src/bot/queue.ts';
import { createBotServer } from '../../src/bot/server.ts';
import { openPglite, openPostgres } from '../../src/bot/store/database.ts';
import { migrate } from '../../src/bot/store/migrate.ts';
import { SecretBox } from '../../src/bot/store/secret-box.ts';

const env = process.env;
const db = env.DATABASE_URL ? openPostgres(env.DATABASE_URL, 4) : await openPglite(env.C2F_DATA_DIR!);
await migrate(db);
const boss = await startQueue(db, { resolveRetry: { retryDelay: 1, retryDelayMax: 1 }, expireInSeconds: Number(env.EXPIRE_SECONDS ?? 120), crashRetryDelaySeconds: 1, superviseIntervalSeconds: 1, monitorIntervalSeconds: 1 });
const probot = new Probot({ appId: 1, privateKey: env.PRIVATE_KEY!, secret: env.WEBHOOK_SECRET!, baseUrl: env.GITHUB_API, logLevel: 'fatal' } as ConstructorParameters<typeof Probot>[0]);
const server = await createBotServer(probot, { db, boss, box: SecretBox.fromEnvironment(env.C2F_SECRET_KEY), botUrl: 'http://bot.example.com', delivery: { retrySchedule: [0.5, 0.5, 0.5], timeoutMs: 2000, leaseSeconds: 5 } });
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
