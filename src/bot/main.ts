import { existsSync } from 'node:fs';
import path from 'node:path';
import { createProbot } from 'probot';
import { OUR_EXIT } from '../protocol/exit-codes.ts';
import { BotConfigError, readBotConfig, type BotConfig } from './config.ts';
import { listen } from './listen.ts';
import { createBot, WEBHOOK_PATH } from './server.ts';
import { registerApp } from './setup/register-app.ts';
import { SecretKeyError } from './store/secret-box.ts';
import { DataFolderLockedError } from './store/data-folder-lock.ts';
import { BotUnavailableError, checkPrivateKeyFile, databaseStartError, privateKeyError } from './startup-errors.ts';

// `npm start` / `c2f-plugin bot`. Without GitHub App credentials, setup mode: the App's registration page,
// which writes them to .env and then starts the bot in the same process. With them, the bot itself, built by
// createBot from the configuration readBotConfig reads and checks (again after setup mode wrote new
// settings), on its own HTTP server (so that webhook bodies are limited before Probot reads them). Probot reads APP_ID, PRIVATE_KEY(_PATH), WEBHOOK_SECRET, GHE_HOST
// and LOG_LEVEL.

export function hasAppCredentials(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.APP_ID && (env.PRIVATE_KEY || env.PRIVATE_KEY_PATH));
}

/** The exit code of a start-up failure a user can fix (78: configuration, 69: a service unavailable), or undefined for a bug. */
export function startupExitCode(error: unknown): number | undefined {
  if (error instanceof SecretKeyError || error instanceof DataFolderLockedError || error instanceof BotConfigError)
    return OUR_EXIT.CONFIG;
  if (error instanceof BotUnavailableError) return OUR_EXIT.UNAVAILABLE;
  return undefined;
}

/** Loads .env from the working folder into process.env (the variables already set win); returns its path. */
export function loadDotEnv(): string {
  const envFile = path.resolve('.env');
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return envFile;
}

export async function startBot(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const envFile = loadDotEnv();
  let config = readBotConfig(env);
  const { port, host } = config;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  if (!hasAppCredentials(env)) {
    Object.assign(env, await registerApp({ botUrl: config.botUrl, port, host, env, envFile, log }));
    // Read again: setup mode wrote the App's webhook secret and OAuth client (the console's sign-in).
    config = readBotConfig(env);
  }
  if (!config.webhookSecret)
    throw new BotConfigError(
      'WEBHOOK_SECRET is not set: the secret GitHub signs webhooks with (the App\'s settings page, "Webhook secret")',
    );
  checkPrivateKeyFile(env);
  let probot;
  try {
    probot = createProbot({ env });
  } catch (error) {
    throw privateKeyError(error) ?? error;
  }
  const bot = await createBot(probot, config).catch((error) => {
    throw databaseStartError(error, config.databaseUrl) ?? error;
  });
  try {
    await listen(bot.server, port, host);
  } catch (error) {
    await bot.stop();
    throw error;
  }
  log(nextSteps(config, host, port));
  const stop = async () => {
    await bot.stop();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function nextSteps(config: BotConfig, host: string, port: number): string {
  return [
    `Listening on http://${host}:${port}.`,
    `  GitHub sends webhooks to ${config.botUrl}${WEBHOOK_PATH}; hosts reach ${config.botUrl}/api/.`,
    config.adminToken
      ? `  Admin API: ${config.botUrl}/api/admin (c2f-plugin hosts/rollouts with C2F_BOT_URL and C2F_ADMIN_TOKEN).`
      : '  Admin API off: set C2F_ADMIN_TOKEN (16 characters or more) to add hosts and drive rollouts with c2f-plugin hosts/rollouts.',
    '  Check the set-up: c2f-plugin bot check',
  ].join('\n');
}
