import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from '../../process-alive.ts';
import { BotConfigError, readBotConfig, type BotConfig } from '../config.ts';
import { appJwt, readAppPrivateKey } from '../github/app-jwt.ts';
import { githubUrls } from '../github/github-urls.ts';
import { WEBHOOK_PATH } from '../server.ts';
import { openPostgres } from '../store/database.ts';
import { migrationsApplied } from '../store/migrate.ts';
import { SecretBox } from '../store/secret-box.ts';
import { APP_EVENTS, APP_PERMISSIONS } from './app-manifest.ts';

// `c2f-plugin bot check`: whether the bot's configuration works, one finding per thing an operator can get
// wrong, each saying what to change. Read-only: it opens nothing the running bot holds.

export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
}

/** What GitHub answers about the App (GET /app) or its webhook (GET /app/hook/config), as far as read here. */
interface GitHubAnswer {
  message?: string;
  id?: number;
  name?: string;
  html_url?: string;
  permissions?: Record<string, string>;
  events?: string[];
  url?: string;
}

const PERMISSION_RANK: Record<string, number> = { read: 1, write: 2, admin: 3 };

export async function checkSetup(env: NodeJS.ProcessEnv): Promise<Finding[]> {
  const findings: Finding[] = [];
  let config: BotConfig | undefined;
  try {
    config = readBotConfig(env);
    findings.push({ check: 'configuration', ok: true, detail: 'every variable is valid' });
  } catch (error) {
    if (!(error instanceof BotConfigError)) throw error;
    findings.push({ check: 'configuration', ok: false, detail: error.message });
  }
  findings.push(secretKey(env));
  findings.push(...(await gitHubApp(env, config)));
  findings.push({
    check: 'webhook secret',
    ok: Boolean(env.WEBHOOK_SECRET),
    detail: env.WEBHOOK_SECRET
      ? "set (GitHub never shows it back: a wrong one shows as refused deliveries on the App's Advanced page)"
      : 'WEBHOOK_SECRET is not set: copy it from the App\'s settings ("Webhook secret")',
  });
  if (config) findings.push(await database(config), await botReachable(config));
  return findings;
}

function secretKey(env: NodeJS.ProcessEnv): Finding {
  try {
    SecretBox.fromEnvironment(env.C2F_SECRET_KEY);
    return { check: 'secret key', ok: true, detail: 'C2F_SECRET_KEY holds 32 bytes' };
  } catch (error) {
    return { check: 'secret key', ok: false, detail: (error as Error).message };
  }
}

async function gitHubApp(env: NodeJS.ProcessEnv, config: BotConfig | undefined): Promise<Finding[]> {
  if (!env.APP_ID || !(env.PRIVATE_KEY || env.PRIVATE_KEY_PATH)) {
    return [
      {
        check: 'GitHub App',
        ok: false,
        detail:
          'no App credentials (APP_ID with PRIVATE_KEY or PRIVATE_KEY_PATH): start "c2f-plugin bot" and register the App from the page it links',
      },
    ];
  }
  const { api } = githubUrls(env);
  let token: string;
  try {
    token = appJwt(env.APP_ID, await readAppPrivateKey(env));
  } catch (error) {
    return [
      { check: 'GitHub App', ok: false, detail: `the App's private key cannot be used: ${(error as Error).message}` },
    ];
  }
  const get = async (route: string) => {
    const response = await fetch(`${api}${route}`, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'conn2flow-plugin-release',
      },
      signal: AbortSignal.timeout(15_000),
    });
    return { status: response.status, body: (await response.json().catch(() => ({}))) as GitHubAnswer };
  };
  let app: Awaited<ReturnType<typeof get>>;
  try {
    app = await get('/app');
  } catch (error) {
    return [
      { check: 'GitHub App', ok: false, detail: `GitHub (${api}) cannot be reached: ${(error as Error).message}` },
    ];
  }
  if (app.status !== 200) {
    return [
      {
        check: 'GitHub App',
        ok: false,
        detail: `GitHub refused the App's credentials (HTTP ${app.status}${app.body.message ? `: ${app.body.message}` : ''}): check APP_ID and the private key`,
      },
    ];
  }
  const findings: Finding[] = [
    {
      check: 'GitHub App',
      ok: true,
      detail: `GitHub accepts the credentials of "${app.body.name}" (id ${app.body.id}, ${app.body.html_url})`,
    },
  ];
  const granted = app.body.permissions ?? {};
  const missing = Object.entries(APP_PERMISSIONS)
    .filter(([name, level]) => (PERMISSION_RANK[granted[name]] ?? 0) < PERMISSION_RANK[level])
    .map(([name, level]) => `${name}: ${level}`);
  const events = app.body.events ?? [];
  const missingEvents = APP_EVENTS.filter((event) => !events.includes(event));
  findings.push({
    check: 'App permissions',
    ok: !missing.length && !missingEvents.length,
    detail:
      missing.length || missingEvents.length
        ? `the App lacks ${[...missing, ...missingEvents.map((event) => `the ${event} event`)].join(', ')}: add them on ${app.body.html_url} (settings, "Permissions & events"), then accept them on each installation`
        : `${Object.entries(APP_PERMISSIONS)
            .map(([name, level]) => `${name}: ${level}`)
            .join(', ')}; events ${APP_EVENTS.join(', ')}`,
  });
  if (config) {
    const hook = await get('/app/hook/config').catch(() => undefined);
    const expected = `${config.botUrl}${WEBHOOK_PATH}`;
    const actual = hook?.status === 200 ? String(hook.body.url ?? '') : undefined;
    let detail = `GitHub sends webhooks to ${expected}`;
    if (actual === undefined)
      detail = `GitHub did not show the App's webhook settings (HTTP ${hook?.status ?? 'no answer'})`;
    else if (actual !== expected)
      detail = `GitHub sends webhooks to ${actual || '(none)'}, but this bot receives them at ${expected}: change the App's "Webhook URL" or C2F_BOT_URL`;
    findings.push({ check: 'webhook URL', ok: actual === expected, detail });
  }
  return findings;
}

async function database(config: BotConfig): Promise<Finding> {
  if (config.databaseUrl) {
    const db = openPostgres(config.databaseUrl, 1);
    try {
      const applied = await migrationsApplied(db);
      return {
        check: 'database',
        ok: true,
        detail:
          applied !== null
            ? `PostgreSQL answers; ${applied} migrations applied`
            : 'PostgreSQL answers; the bot creates its tables when it starts',
      };
    } catch (error) {
      return {
        check: 'database',
        ok: false,
        detail: `PostgreSQL (DATABASE_URL) cannot be used: ${(error as Error).message}`,
      };
    } finally {
      await db.close();
    }
  }
  const owner = Number((await readFile(path.join(config.dataDir, 'c2f-bot.lock'), 'utf8').catch(() => '')).trim());
  if (owner && isProcessAlive(owner))
    return {
      check: 'database',
      ok: true,
      detail: `PGlite in ${config.dataDir}, open in the running bot (pid ${owner})`,
    };
  let folder = config.dataDir;
  while (
    !(await access(folder).then(
      () => true,
      () => false,
    ))
  )
    folder = path.dirname(folder);
  const writable = await access(folder, constants.W_OK).then(
    () => true,
    () => false,
  );
  return {
    check: 'database',
    ok: writable,
    detail: writable
      ? `PGlite in ${config.dataDir} (one bot process; DATABASE_URL for several)`
      : `PGlite cannot write ${folder}: set C2F_DATA_DIR to a folder the bot may write, or DATABASE_URL`,
  };
}

async function botReachable(config: BotConfig): Promise<Finding> {
  const url = `${config.botUrl}/healthz`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'manual' });
    const body = (await response.json().catch(() => ({}))) as { status?: string };
    if (response.status === 200 && body.status === 'ok')
      return { check: 'bot URL', ok: true, detail: `${url} answers: the bot is running and reachable at C2F_BOT_URL` };
    if (body.status === 'setup')
      return {
        check: 'bot URL',
        ok: false,
        detail: `${url} answers in setup mode: register the GitHub App from the link the bot printed`,
      };
    return {
      check: 'bot URL',
      ok: false,
      detail: `${url} answered HTTP ${response.status}, not the bot's health check: does C2F_BOT_URL reach this bot?`,
    };
  } catch (error) {
    const cause = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
    return {
      check: 'bot URL',
      ok: false,
      detail: `nothing answers at ${url} (${cause}): start the bot, and make C2F_BOT_URL reach it`,
    };
  }
}
