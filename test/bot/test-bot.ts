import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { readBotConfig } from '../../src/bot/config.ts';
import { createBot, type BotOverrides, type RunningBot } from '../../src/bot/server.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { TEST_SECRET_KEY } from './databases.ts';
import { testProbot } from './test-probot.ts';

// The bot as production builds it (createBot, from a configuration read and checked by readBotConfig), on a
// test's database and GitHub stand-in, listening on 127.0.0.1.

export interface TestBotOptions {
  /** Settings as the environment gives them (C2F_BOT_URL defaults to https://bot.example.com). */
  env?: Record<string, string>;
  overrides?: BotOverrides;
  /** Probot's logger (default: silent). */
  log?: Logger;
  /** The port to listen on (default: any free one). */
  port?: number;
}

export async function startTestBot(
  github: GitHubStandIn,
  db: Database,
  options: TestBotOptions = {},
): Promise<RunningBot & { url: string }> {
  const env: Record<string, string> = {
    APP_ID: '1',
    C2F_BOT_URL: 'https://bot.example.com',
    C2F_SECRET_KEY: TEST_SECRET_KEY,
    WEBHOOK_SECRET: 's',
    ...options.env,
  };
  const probot = testProbot(github, { secret: env.WEBHOOK_SECRET, log: options.log });
  const bot = await createBot(probot, readBotConfig(env), { db, ...options.overrides });
  await new Promise<void>((resolve) => bot.server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return { ...bot, url: `http://127.0.0.1:${(bot.server.address() as AddressInfo).port}` };
}
