import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import { parsePublicKey } from '../plugin/minisign.ts';
import { loadSigstoreTrust, type ProvenancePolicy, type SigstoreTrust } from '../plugin/provenance.ts';
import { validateAgentConfig } from './schemas/agent-config.validator.js';

// The agent's one config file: read, checked against its JSON Schema, and completed with defaults. Every
// problem is reported with the file and the setting it concerns.

export type InstallerConfig =
  | {
      type: 'conn2flow';
      gestorDir: string;
      php: string;
      domain: string | null;
      timeoutSeconds: number;
      dbSocket: string | null;
    }
  | { type: 'command'; command: string[]; timeoutSeconds: number };

export interface AgentConfig {
  file: string;
  hostId: string;
  secret: string;
  previousSecret: string | null;
  botUrl: string;
  listen: { host: string; port: number; path: string } | null;
  dataDir: string;
  installer: InstallerConfig;
  limits: {
    downloadBytes: number;
    downloadTimeoutSeconds: number;
    zipEntries: number;
    zipTotalBytes: number;
    zipRatio: number;
  };
  backups: { keep: number };
  heartbeatSeconds: number;
  pollSeconds: number;
  pinned: string[];
  /** Plugins whose publisher this host checks itself ("*": every plugin without its own entry). */
  publishers: Record<string, PublisherTrust>;
  /** The trusted root and OIDC issuer build provenance is checked against. */
  sigstore: SigstoreTrust;
  allowHttpDownloads: boolean;
  allowPrivateRedirects: boolean;
  /** When a job fails after the installer started changing the site, reinstall what the site had before. */
  restoreOnFailure: boolean;
  /** Pages that must answer after an install (null: no health check). */
  healthCheck: HealthCheckConfig | null;
  /** Run after every install and restore (a PHP-FPM reload), before the health check; null: none. */
  reloadCommand: string[] | null;
  postInstall: { timeoutSeconds: number; stopOnError: boolean };
}

export interface PublisherTrust {
  /** Minisign public keys (base64 lines). */
  keys: string[];
  trustOnFirstUse: boolean;
  /** The build provenance a package must carry (repository, workflow, tags). */
  provenance?: ProvenancePolicy;
}

export interface HealthCheckConfig {
  urls: string[];
  timeoutSeconds: number;
  fatalPatterns: string[];
  /** Seconds the site may still run the previous code; undefined: read from PHP's settings. */
  settleSeconds?: number;
  phpIniDir?: string;
  passes: number;
  intervalSeconds: number;
}

/** What marks a broken PHP page unless the config says otherwise. */
export const DEFAULT_FATAL_PATTERNS = [
  'Fatal error',
  'Parse error',
  'Uncaught Error',
  'Uncaught Exception',
  'Uncaught TypeError',
];

export const CONFIG_SCHEMA_URL = 'https://conn2flow-plugin-release/schemas/agent-config.schema.json';

export const DEFAULT_LIMITS: AgentConfig['limits'] = {
  downloadBytes: 256 * 1024 * 1024,
  downloadTimeoutSeconds: 300,
  zipEntries: 20_000,
  zipTotalBytes: 1024 * 1024 * 1024,
  zipRatio: 200,
};

export class ConfigError extends Error {}

export async function loadConfig(file: string): Promise<AgentConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the agent config ${absolute}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${absolute} is not JSON: ${(error as Error).message}`);
  }
  return completeConfig(raw, absolute);
}

/** Checks a parsed config against the schema and fills in defaults (paths resolve against the file). */
export function completeConfig(raw: unknown, file: string): AgentConfig {
  if (!validateAgentConfig(raw)) {
    const problems = (validateAgentConfig.errors ?? []).filter((e) => e.keyword !== 'oneOf').map(describe);
    throw new ConfigError(
      `${file} is not a valid agent config:\n${[...new Set(problems)].map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  // biome-ignore lint/suspicious/noExplicitAny: the schema above has checked every field read below
  const c = raw as Record<string, any>;
  const base = path.dirname(file);
  const installer: InstallerConfig =
    c.installer.type === 'conn2flow'
      ? {
          type: 'conn2flow',
          gestorDir: path.resolve(base, c.installer.gestorDir),
          php: c.installer.php ?? 'php',
          domain: c.installer.domain ?? null,
          timeoutSeconds: c.installer.timeoutSeconds ?? 900,
          dbSocket: c.installer.dbSocket ?? null,
        }
      : { type: 'command', command: c.installer.command, timeoutSeconds: c.installer.timeoutSeconds ?? 900 };
  return {
    file,
    hostId: c.hostId,
    secret: c.secret,
    previousSecret: c.previousSecret ?? null,
    botUrl: c.botUrl.replace(/\/+$/, ''),
    listen: c.listen ? { host: c.listen.host ?? '127.0.0.1', port: c.listen.port, path: c.listen.path ?? '/' } : null,
    dataDir: path.resolve(base, c.dataDir ?? 'c2f-agent-data'),
    installer,
    limits: { ...DEFAULT_LIMITS, ...c.limits },
    backups: { keep: c.backups?.keep ?? 5 },
    heartbeatSeconds: c.heartbeatSeconds ?? 300,
    pollSeconds: c.pollSeconds ?? 30,
    pinned: c.pinned ?? [],
    publishers: publishersOf(c.publishers ?? {}, file),
    sigstore: sigstoreOf(c.sigstore ?? {}, base, file),
    allowHttpDownloads: c.allowHttpDownloads ?? false,
    allowPrivateRedirects: c.allowPrivateRedirects ?? false,
    restoreOnFailure: c.restoreOnFailure ?? true,
    healthCheck: c.healthCheck
      ? {
          urls: c.healthCheck.urls,
          timeoutSeconds: c.healthCheck.timeoutSeconds ?? 15,
          fatalPatterns: c.healthCheck.fatalPatterns ?? DEFAULT_FATAL_PATTERNS,
          settleSeconds: c.healthCheck.settleSeconds,
          phpIniDir: c.healthCheck.phpIniDir ? path.resolve(base, c.healthCheck.phpIniDir) : undefined,
          passes: c.healthCheck.passes ?? 3,
          intervalSeconds: c.healthCheck.intervalSeconds ?? 1,
        }
      : null,
    reloadCommand: c.reloadCommand ?? null,
    postInstall: {
      timeoutSeconds: c.postInstall?.timeoutSeconds ?? 300,
      stopOnError: c.postInstall?.stopOnError ?? true,
    },
  };
}

function publishersOf(
  raw: Record<string, { keys?: string[]; trustOnFirstUse?: boolean; provenance?: ProvenancePolicy }>,
  file: string,
): Record<string, PublisherTrust> {
  const publishers: Record<string, PublisherTrust> = {};
  for (const [pluginId, entry] of Object.entries(raw)) {
    const trust: PublisherTrust = {
      keys: [...new Set(entry.keys ?? [])],
      trustOnFirstUse: entry.trustOnFirstUse ?? false,
      ...(entry.provenance ? { provenance: entry.provenance } : {}),
    };
    if (!trust.keys.length && !trust.trustOnFirstUse && !trust.provenance)
      throw new ConfigError(`${file}: publishers.${pluginId}: give keys, trustOnFirstUse: true, or provenance`);
    for (const key of trust.keys) {
      try {
        parsePublicKey(key);
      } catch (error) {
        throw new ConfigError(`${file}: publishers.${pluginId}: ${key}: ${(error as Error).message}`);
      }
    }
    publishers[pluginId] = trust;
  }
  return publishers;
}

/** The config's Sigstore settings; the trusted root file is read (and checked) now, not at the first job. */
function sigstoreOf(raw: { trustedRoot?: string; issuer?: string }, base: string, file: string): SigstoreTrust {
  const trustedRootFile = raw.trustedRoot ? path.resolve(base, raw.trustedRoot) : undefined;
  try {
    return loadSigstoreTrust({ trustedRootFile, issuer: raw.issuer });
  } catch (error) {
    throw new ConfigError(`${file}: sigstore.trustedRoot: ${trustedRootFile}: ${(error as Error).message}`);
  }
}

function describe(error: ErrorObject): string {
  const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
  if (error.keyword === 'additionalProperties')
    return `${where}: unknown setting "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  if (error.keyword === 'required')
    return `${where}: missing "${(error.params as { missingProperty: string }).missingProperty}"`;
  if (error.keyword === 'const' || error.keyword === 'enum')
    return `${where}: must be ${JSON.stringify((error.params as { allowedValue?: unknown }).allowedValue ?? (error.params as { allowedValues?: unknown }).allowedValues)}`;
  return `${where}: ${error.message}`;
}
