import { OUR_EXIT } from '../../protocol/exit-codes.ts';

export const BOT_HELP = `Usage: c2f-plugin bot

Starts the release bot (a Probot GitHub App). Configuration comes from the environment:
  APP_ID, PRIVATE_KEY, WEBHOOK_SECRET   the GitHub App (without them: the app-registration page)
  C2F_SECRET_KEY                        32 bytes (base64) that seal host secrets at rest (required)
  DATABASE_URL                          PostgreSQL (production); otherwise PGlite in C2F_DATA_DIR
  C2F_DATA_DIR                          the embedded store's folder (default .c2f-bot-data)
  C2F_BOT_URL                           the bot's public URL (hosts report to it)
  C2F_ADMIN_TOKEN                       bearer token of the admin API (hosts, rollouts)
  PORT, HOST, LOG_LEVEL                 as Probot reads them
`;

export async function botCommand(): Promise<number> {
  const { startBot, isConfigurationError } = await import('../../bot/main.ts');
  try {
    await startBot();
  } catch (error) {
    if (!isConfigurationError(error)) throw error;
    process.stderr.write(`c2f-plugin bot: ${(error as Error).message}\n`);
    return OUR_EXIT.CONFIG;
  }
  return await new Promise<number>(() => {}); // runs until stopped
}
