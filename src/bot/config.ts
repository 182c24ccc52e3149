import path from 'node:path';
import { DEFAULT_SIGSTORE_TRUST, loadSigstoreTrust, type SigstoreTrust } from '../plugin/provenance.ts';
import type { ErrorObject } from 'ajv';
import { RETRY_SCHEDULE_SECONDS } from './delivery/deliver-job.ts';
import { NOTIFY_RETRY_SECONDS } from './notify/send-notifications.ts';
import { JOB_DEADLINE_SECONDS } from './delivery/job-message.ts';
import { REPORT_CHECK_SECONDS } from './delivery/overdue-reports.ts';
import { PULL_LEASE_SECONDS } from './api/heartbeat.ts';
import { CHECK_RUN_DELAY_SECONDS } from './github/update-check-run.ts';
import { validateBotConfig } from './schemas/bot-config.validator.js';
import { DEFAULT_RETENTION_DAYS } from './store/retention.ts';
import { parseStrategy, type Strategy } from './rollout/strategy.ts';

// The bot's settings, read once from the environment into one typed object checked against its JSON Schema
// (schemas/bot-config.schema.json): every problem is found at start, in one message that names the
// variables, rather than on the first job that needs them. Probot reads its own (APP_ID, PRIVATE_KEY,
// LOG_LEVEL, GHE_HOST) from the same environment.

export interface BotConfig {
  /** Where the bot listens (PORT, HOST). */
  port: number;
  host: string;
  /** The secret GitHub signs webhooks with; absent before setup mode registered the App. */
  webhookSecret?: string;
  /** The bot's public URL: hosts report to <botUrl>/api/reports and download private packages from it. */
  botUrl: string;
  adminToken?: string;
  /** PostgreSQL (production, several processes); otherwise PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  secretKey?: string;
  /** Seconds a job handed out in a poll answer waits for the host's first report before it is handed out again. */
  pullLeaseSeconds: number;
  /** Time limit of one push to a host. */
  pushTimeoutMs: number;
  /** Seconds before each retry of a push; its length is the number of retries. */
  retrySchedule: number[];
  /** Seconds before each retry of a notification; its length is the number of retries. */
  notifyRetrySchedule: number[];
  /** Seconds a check-run update waits to gather changes into one call. */
  checkRunDelaySeconds: number;
  /** Days the event log, webhook deliveries and final jobs' history and reports are kept. */
  retentionDays: number;
  /** Per repository, the keys its releases must be signed with (replacing the repository's own list). */
  publisherKeys?: Record<string, string[]>;
  /** Per repository, the workflow files one of which must have built its releases (replacing the repository's own list). */
  provenanceWorkflows?: Record<string, string[]>;
  /** What build provenance is checked against: a trusted root file (C2F_SIGSTORE_TRUSTED_ROOT) and issuer. */
  sigstore: SigstoreTrust;
  /** The rollout strategy of repositories that declare none (waves, onHalt, minReleaseAge); all at once when absent. */
  rolloutStrategy?: Strategy;
  /** Seconds between the controller's passes over running rollouts (waves, soaks, windows, release age). */
  rolloutTickSeconds: number;
  /** Seconds without word about a job a host took before the bot asks the host again. */
  reportCheckSeconds: number;
  /** A job's deadline: the host does not start it later, and the bot fails it when the host has said nothing for this long. */
  jobDeadlineSeconds: number;
  /** The App's OAuth client, which signs operators in to the console. */
  githubClientId?: string;
  githubClientSecret?: string;
  /** Who may use the console: these GitHub logins, and the active members of this organisation. */
  consoleUsers: string[];
  consoleAdmins: string[];
  consoleViewers: string[];
  consoleOrg?: string;
  consoleOrgRole: 'viewer' | 'operator' | 'admin';
  /** Team slugs of consoleOrg whose members get each role. */
  consoleTeams: { viewer: string[]; operator: string[]; admin: string[] };
}

export class BotConfigError extends Error {}

/** The variable each setting comes from. */
const VARIABLES: Record<keyof BotConfig, string> = {
  port: 'PORT',
  host: 'HOST',
  webhookSecret: 'WEBHOOK_SECRET',
  botUrl: 'C2F_BOT_URL',
  adminToken: 'C2F_ADMIN_TOKEN',
  databaseUrl: 'DATABASE_URL',
  dataDir: 'C2F_DATA_DIR',
  secretKey: 'C2F_SECRET_KEY',
  pullLeaseSeconds: 'C2F_PULL_LEASE_SECONDS',
  pushTimeoutMs: 'C2F_PUSH_TIMEOUT_MS',
  retrySchedule: 'C2F_RETRY_SCHEDULE',
  notifyRetrySchedule: 'C2F_NOTIFY_RETRY_SCHEDULE',
  checkRunDelaySeconds: 'C2F_CHECK_RUN_DELAY_SECONDS',
  retentionDays: 'C2F_RETENTION_DAYS',
  publisherKeys: 'C2F_PUBLISHER_KEYS',
  provenanceWorkflows: 'C2F_PROVENANCE_WORKFLOWS',
  sigstore: 'C2F_SIGSTORE_TRUSTED_ROOT',
  rolloutStrategy: 'C2F_ROLLOUT_STRATEGY',
  rolloutTickSeconds: 'C2F_ROLLOUT_TICK_SECONDS',
  reportCheckSeconds: 'C2F_REPORT_CHECK_SECONDS',
  jobDeadlineSeconds: 'C2F_JOB_DEADLINE_SECONDS',
  githubClientId: 'GITHUB_CLIENT_ID',
  githubClientSecret: 'GITHUB_CLIENT_SECRET',
  consoleUsers: 'C2F_CONSOLE_USERS',
  consoleAdmins: 'C2F_CONSOLE_ADMINS',
  consoleViewers: 'C2F_CONSOLE_VIEWERS',
  consoleOrg: 'C2F_CONSOLE_ORG',
  consoleOrgRole: 'C2F_CONSOLE_ORG_ROLE',
  consoleTeams: 'C2F_CONSOLE_TEAM_ADMINS, C2F_CONSOLE_TEAM_OPERATORS and C2F_CONSOLE_TEAM_VIEWERS',
};

export function readBotConfig(env: NodeJS.ProcessEnv = process.env): BotConfig {
  const set = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]!.trim());
  const logins = (name: string) =>
    (set(name) ?? '')
      .split(',')
      .map((login) => login.trim())
      .filter(Boolean);
  const number = (name: string, fallback: number) => (set(name) === undefined ? fallback : Number(set(name)));
  const problems: string[] = [];
  const botUrl = set('C2F_BOT_URL');
  // GitHub's webhooks and every job carry it: a made-up localhost URL would reach neither GitHub nor a host.
  if (!botUrl)
    problems.push(
      "C2F_BOT_URL is not set: the bot's public URL (https://bot.example.com): GitHub sends webhooks to it, hosts report to it and download private packages from it",
    );
  const seconds = (name: string, fallback: readonly number[]) => {
    const text = set(name);
    const list = text === undefined ? [...fallback] : text.split(',').map((part) => Number(part.trim()));
    if (list.some((n) => !Number.isFinite(n)))
      problems.push(`${name} must be seconds separated by commas (5,300,1800), found ${JSON.stringify(text)}`);
    return list.filter((n) => Number.isFinite(n));
  };
  const retrySchedule = seconds('C2F_RETRY_SCHEDULE', RETRY_SCHEDULE_SECONDS);
  const notifyRetrySchedule = seconds('C2F_NOTIFY_RETRY_SCHEDULE', NOTIFY_RETRY_SECONDS);
  let rolloutStrategy: Strategy | undefined;
  if (set('C2F_ROLLOUT_STRATEGY') !== undefined) {
    try {
      rolloutStrategy = parseStrategy(JSON.parse(set('C2F_ROLLOUT_STRATEGY')!), 'C2F_ROLLOUT_STRATEGY');
    } catch (error) {
      problems.push(
        error instanceof SyntaxError
          ? `C2F_ROLLOUT_STRATEGY must be JSON like {"waves": [{"name": "canary", "labels": ["canary"]}]}: ${error.message}`
          : (error as Error).message,
      );
    }
  }
  let publisherKeys: unknown;
  if (set('C2F_PUBLISHER_KEYS') !== undefined) {
    try {
      publisherKeys = JSON.parse(set('C2F_PUBLISHER_KEYS')!);
    } catch (error) {
      problems.push(`C2F_PUBLISHER_KEYS must be JSON like {"owner/repo": ["RWQ…"]}: ${(error as Error).message}`);
    }
  }
  let provenanceWorkflows: unknown;
  if (set('C2F_PROVENANCE_WORKFLOWS') !== undefined) {
    try {
      provenanceWorkflows = JSON.parse(set('C2F_PROVENANCE_WORKFLOWS')!);
    } catch (error) {
      problems.push(
        `C2F_PROVENANCE_WORKFLOWS must be JSON like {"owner/repo": [".github/workflows/release.yml"]}: ${(error as Error).message}`,
      );
    }
  }
  const sigstore = sigstoreTrust(set('C2F_SIGSTORE_TRUSTED_ROOT'), set('C2F_SIGSTORE_ISSUER'), problems);
  const raw: Record<string, unknown> = {
    port: number('PORT', 3000),
    host: set('HOST') ?? 'localhost',
    webhookSecret: set('WEBHOOK_SECRET'),
    publisherKeys,
    provenanceWorkflows,
    botUrl: botUrl?.replace(/\/+$/, ''),
    adminToken: set('C2F_ADMIN_TOKEN'),
    databaseUrl: set('DATABASE_URL'),
    dataDir: path.resolve(set('C2F_DATA_DIR') ?? '.c2f-bot-data'),
    secretKey: env.C2F_SECRET_KEY,
    pullLeaseSeconds: number('C2F_PULL_LEASE_SECONDS', PULL_LEASE_SECONDS),
    pushTimeoutMs: number('C2F_PUSH_TIMEOUT_MS', 10_000),
    retrySchedule,
    notifyRetrySchedule,
    checkRunDelaySeconds: number('C2F_CHECK_RUN_DELAY_SECONDS', CHECK_RUN_DELAY_SECONDS),
    retentionDays: number('C2F_RETENTION_DAYS', DEFAULT_RETENTION_DAYS),
    rolloutTickSeconds: number('C2F_ROLLOUT_TICK_SECONDS', 30),
    reportCheckSeconds: number('C2F_REPORT_CHECK_SECONDS', REPORT_CHECK_SECONDS),
    jobDeadlineSeconds: number('C2F_JOB_DEADLINE_SECONDS', JOB_DEADLINE_SECONDS),
    githubClientId: set('GITHUB_CLIENT_ID'),
    githubClientSecret: set('GITHUB_CLIENT_SECRET'),
    consoleUsers: logins('C2F_CONSOLE_USERS'),
    consoleAdmins: logins('C2F_CONSOLE_ADMINS'),
    consoleViewers: logins('C2F_CONSOLE_VIEWERS'),
    consoleOrg: set('C2F_CONSOLE_ORG'),
    consoleOrgRole: set('C2F_CONSOLE_ORG_ROLE') ?? 'operator',
    consoleTeams: {
      viewer: logins('C2F_CONSOLE_TEAM_VIEWERS').map((slug) => slug.toLowerCase()),
      operator: logins('C2F_CONSOLE_TEAM_OPERATORS').map((slug) => slug.toLowerCase()),
      admin: logins('C2F_CONSOLE_TEAM_ADMINS').map((slug) => slug.toLowerCase()),
    },
  };
  const teams = raw.consoleTeams as BotConfig['consoleTeams'];
  if (!set('C2F_CONSOLE_ORG') && (teams.viewer.length || teams.operator.length || teams.admin.length))
    problems.push('C2F_CONSOLE_TEAM_* name teams of C2F_CONSOLE_ORG, which is not set');
  for (const key of Object.keys(raw)) if (raw[key] === undefined) delete raw[key];
  if (!validateBotConfig(raw)) {
    // A missing C2F_BOT_URL is named above, with what it is for.
    const errors = (validateBotConfig.errors ?? []).filter(
      (error) => !(error.keyword === 'required' && error.params.missingProperty === 'botUrl'),
    );
    problems.push(...errors.map((error) => describe(error, raw)));
  }
  if (rolloutStrategy) raw.rolloutStrategy = rolloutStrategy;
  raw.sigstore = sigstore;
  if (problems.length)
    throw new BotConfigError(
      `the bot's configuration is incomplete:\n${[...new Set(problems)].map((p) => `  - ${p}`).join('\n')}`,
    );
  return raw as unknown as BotConfig;
}

/** Sigstore's public-good root and GitHub's issuer, or a root file of one's own (GitHub's instance, a GHES). */
function sigstoreTrust(rootFile: string | undefined, issuer: string | undefined, problems: string[]): SigstoreTrust {
  if (issuer && !/^https?:\/\//.test(issuer))
    problems.push(`C2F_SIGSTORE_ISSUER must be an http(s) URL, found ${issuer}`);
  try {
    return loadSigstoreTrust({ trustedRootFile: rootFile, issuer });
  } catch (error) {
    problems.push(`C2F_SIGSTORE_TRUSTED_ROOT ${rootFile} cannot be used: ${(error as Error).message}`);
    return DEFAULT_SIGSTORE_TRUST;
  }
}

function describe(error: ErrorObject, raw: Record<string, unknown>): string {
  const key = error.instancePath.split('/')[1] as keyof BotConfig | undefined;
  const variable = key ? VARIABLES[key] : 'the environment';
  const value = key ? raw[key] : undefined;
  const shown =
    typeof value === 'number' && Number.isNaN(value)
      ? 'not a number'
      : JSON.stringify(key === 'adminToken' || key === 'databaseUrl' ? '…' : value);
  if (error.keyword === 'type' && typeof value === 'number') return `${variable} must be a number, found ${shown}`;
  return `${variable} ${error.message} (found ${shown})`;
}
