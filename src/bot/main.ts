import { existsSync } from 'node:fs';
import { createProbot, run } from 'probot';
import { BotConfigError, readBotConfig } from './config.ts';
import { createBot, WEBHOOK_PATH } from './server.ts';
import { SecretKeyError } from './store/secret-box.ts';
import { DataFolderLockedError } from './store/data-folder-lock.ts';

// `npm start` / `c2f-plugin bot`. Without GitHub App credentials, Probot's app-registration page (fed by
// app.yml), which writes them to .env; with them, the bot itself, built by createBot from the configuration
// read once by readBotConfig, on its own HTTP server (so that webhook bodies are limited before Probot reads
// them). Probot reads APP_ID, PRIVATE_KEY(_PATH), WEBHOOK_SECRET, GHE_HOST and LOG_LEVEL.

export function hasAppCredentials(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.APP_ID && (env.PRIVATE_KEY || env.PRIVATE_KEY_PATH));
}

/** Errors that mean "fix the configuration", not "a bug". */
export function isConfigurationError(error: unknown): boolean {
  return error instanceof SecretKeyError || error instanceof DataFolderLockedError || error instanceof BotConfigError;
}

export async function startBot(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Probot's setup writes the App's credentials to .env; the variables already set win.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = readBotConfig(env);
  if (!hasAppCredentials(env)) {
    await run(() => {});
    return;
  }
  const probot = createProbot({ env });
  const bot = await createBot(probot, config);
  const port = Number(env.PORT ?? 3000);
  const host = env.HOST || 'localhost';
  try {
    await new Promise<void>((resolve, reject) => {
      bot.server.once('error', reject);
      bot.server.listen(port, host, () => resolve());
    });
  } catch (error) {
    await bot.stop();
    const code = (error as NodeJS.ErrnoException).code;
    throw new BotConfigError(code === 'EADDRINUSE' ? `port ${port} on ${host} is in use: stop what holds it, or set PORT` : `cannot listen on ${host}:${port}: ${(error as Error).message}`);
  }
  probot.log.info(`Listening on http://${host}:${port}; GitHub sends webhooks to ${config.botUrl}${WEBHOOK_PATH}, hosts reach ${config.botUrl}/api/`);
  const stop = async () => {
    await bot.stop();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
