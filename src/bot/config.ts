import path from 'node:path';
import { RETRY_SCHEDULE_SECONDS } from './delivery/deliver-job.ts';
import { PULL_LEASE_SECONDS } from './api/heartbeat.ts';
import { CHECK_RUN_DELAY_SECONDS } from './github/update-check-run.ts';
import { DEFAULT_RETENTION_DAYS } from './store/retention.ts';

// The bot's settings, read once from the environment into one typed object: every problem is found at
// start, in one message that names the variables, rather than on the first job that needs them. Probot reads
// its own (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, PORT, HOST, LOG_LEVEL, GHE_HOST).

export interface BotConfig {
  /** The bot's public URL: hosts report to <botUrl>/api/reports and download private packages from it. */
  botUrl: string;
  adminToken: string | undefined;
  /** PostgreSQL (production, several processes); otherwise PGlite in dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  secretKey: string | undefined;
  /** Seconds a job handed out in a poll answer waits for the host's first report before it is handed out again. */
  pullLeaseSeconds: number;
  /** Time limit of one push to a host. */
  pushTimeoutMs: number;
  /** Seconds before each retry of a push; its length is the number of retries. */
  retrySchedule: number[];
  /** Seconds a check-run update waits to gather changes into one call. */
  checkRunDelaySeconds: number;
  /** Days the event log, webhook deliveries and final jobs' history and reports are kept. */
  retentionDays: number;
}

export class BotConfigError extends Error {}

/** What each variable is, for the error message and `c2f-plugin bot --help`. */
export const BOT_SETTINGS = {
  C2F_BOT_URL: 'the bot\'s public URL (https://bot.example.com): hosts report to it and download private packages from it',
  C2F_SECRET_KEY: '32 bytes (base64 or hex) that seal host secrets at rest',
  C2F_ADMIN_TOKEN: 'bearer token of the admin API (hosts, rollouts)',
  DATABASE_URL: 'PostgreSQL, for production and several bot processes; otherwise the embedded PGlite',
  C2F_DATA_DIR: 'the embedded store\'s folder (default .c2f-bot-data)',
  C2F_PULL_LEASE_SECONDS: `how long a job handed to a polling host waits for its first report (default ${PULL_LEASE_SECONDS})`,
  C2F_PUSH_TIMEOUT_MS: 'time limit of one push to a host (default 10000)',
  C2F_RETRY_SCHEDULE: 'seconds before each push retry, comma-separated (default: about three days)',
  C2F_CHECK_RUN_DELAY_SECONDS: `seconds a check-run update waits to gather changes (default ${CHECK_RUN_DELAY_SECONDS})`,
  C2F_RETENTION_DAYS: `days the event log, webhook deliveries and finished jobs' history and reports are kept (default ${DEFAULT_RETENTION_DAYS})`,
} as const;

export function readBotConfig(env: NodeJS.ProcessEnv = process.env): BotConfig {
  const problems: string[] = [];
  const number = (name: keyof typeof BOT_SETTINGS, fallback: number, min: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) {
      problems.push(`${name} must be a number of at least ${min} (${BOT_SETTINGS[name]}), found ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };
  let botUrl = env.C2F_BOT_URL?.trim();
  if (botUrl) {
    try {
      const url = new URL(botUrl);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
      botUrl = url.toString().replace(/\/+$/, '');
    } catch {
      problems.push(`C2F_BOT_URL must be an http(s) URL (${BOT_SETTINGS.C2F_BOT_URL}), found ${JSON.stringify(botUrl)}`);
    }
  } else if (env.APP_ID) {
    // With App credentials the bot sends jobs: a made-up localhost URL in them would reach no host.
    problems.push(`C2F_BOT_URL is not set: ${BOT_SETTINGS.C2F_BOT_URL}`);
  }
  let retrySchedule = RETRY_SCHEDULE_SECONDS;
  if (env.C2F_RETRY_SCHEDULE) {
    const parts = env.C2F_RETRY_SCHEDULE.split(',').map((part) => Number(part.trim()));
    if (parts.some((n) => !Number.isFinite(n) || n < 0)) problems.push(`C2F_RETRY_SCHEDULE must be seconds separated by commas (5,300,1800), found ${JSON.stringify(env.C2F_RETRY_SCHEDULE)}`);
    else retrySchedule = parts;
  }
  const config: BotConfig = {
    botUrl: botUrl ?? `http://localhost:${env.PORT ?? 3000}`,
    adminToken: env.C2F_ADMIN_TOKEN || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.C2F_DATA_DIR || '.c2f-bot-data'),
    secretKey: env.C2F_SECRET_KEY,
    pullLeaseSeconds: number('C2F_PULL_LEASE_SECONDS', PULL_LEASE_SECONDS, 1),
    pushTimeoutMs: number('C2F_PUSH_TIMEOUT_MS', 10_000, 100),
    retrySchedule,
    checkRunDelaySeconds: number('C2F_CHECK_RUN_DELAY_SECONDS', CHECK_RUN_DELAY_SECONDS, 0),
    retentionDays: number('C2F_RETENTION_DAYS', DEFAULT_RETENTION_DAYS, 1),
  };
  if (problems.length) throw new BotConfigError(`the bot's configuration is incomplete:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return config;
}
