import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Probot } from 'probot';
import type { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { readBotConfig } from '../../src/bot/config.ts';
import { createBot, type BotOverrides, type RunningBot } from '../../src/bot/server.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { TEST_SECRET_KEY } from './databases.ts';

// The bot as production builds it (createBot, from a configuration read and checked by readBotConfig), on a
// test's database and GitHub stand-in, listening on 127.0.0.1.

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

export async function startTestBot(
  github: GitHubStandIn,
  db: Database,
  env: Record<string, string> = {},
  overrides: BotOverrides = {},
): Promise<RunningBot & { url: string }> {
  const probot = new Probot({
    appId: 1,
    privateKey,
    secret: 's',
    baseUrl: github.url,
    logLevel: 'fatal',
  } as ConstructorParameters<typeof Probot>[0]);
  const config = readBotConfig({
    APP_ID: '1',
    C2F_BOT_URL: 'https://bot.example.com',
    C2F_SECRET_KEY: TEST_SECRET_KEY,
    WEBHOOK_SECRET: 's',
    ...env,
  });
  const bot = await createBot(probot, config, { db, ...overrides });
  await new Promise<void>((resolve) => bot.server.listen(0, '127.0.0.1', resolve));
  return { ...bot, url: `http://127.0.0.1:${(bot.server.address() as AddressInfo).port}` };
}
