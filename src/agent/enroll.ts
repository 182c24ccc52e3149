import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { EnrollmentRequest } from '../protocol/messages.ts';
import { OUR_EXIT } from '../protocol/exit-codes.ts';
import { describeAnswer, postJson, type BotAnswer } from './bot-client.ts';
import { CONFIG_SCHEMA_URL, completeConfig, type InstallerConfig, type PublisherTrust } from './config.ts';
import { AGENT_VERSION } from './version.ts';
import { writePrivateFile } from '../write-private-file.ts';

// `c2f-plugin agent enroll`: trades the operator's one-time token for this host's id and secret, and writes
// the agent's config file (mode 0600: it holds the secret), checked against the config schema first.

export interface EnrollOptions {
  botUrl: string;
  token: string;
  configFile: string;
  /** The URL the bot pushes jobs to; null for pull mode. */
  url: string | null;
  listen: { host: string; port: number } | null;
  installer: InstallerConfig | { type: 'conn2flow'; gestorDir: string } | { type: 'command'; command: string[] };
  dataDir?: string;
  allowHttpDownloads?: boolean;
  /** Plugins whose publisher this host checks itself (the config's publishers). */
  publishers?: Record<string, PublisherTrust>;
  overwrite?: boolean;
}

export class EnrollError extends Error {
  /** The process exit code: the bot unreachable (69), in setup mode (78), or it refused (1). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The exit code for a bot's answer that is not 200. */
function refusalCode(answer: BotAnswer): number {
  if (answer.status === 0) return OUR_EXIT.UNAVAILABLE;
  try {
    if ((JSON.parse(answer.body) as { setupMode?: unknown }).setupMode === true) return OUR_EXIT.CONFIG;
  } catch {}
  return 1;
}

export async function enrollAgent(
  options: EnrollOptions,
): Promise<{ hostId: string; pollMode: boolean; configFile: string }> {
  const configFile = path.resolve(options.configFile);
  if (!options.overwrite && (await stat(configFile).catch(() => undefined)))
    throw new EnrollError(`${configFile} exists; pass --force to replace it (the host's current secret would be lost)`);
  const request: EnrollmentRequest = {
    type: 'enroll',
    protocol: 1,
    token: options.token,
    agentVersion: AGENT_VERSION,
    url: options.url,
  };
  const botUrl = options.botUrl.replace(/\/+$/, '');
  const answer = await postJson(`${botUrl}/api/enroll`, JSON.stringify(request), {}, 15_000);
  if (answer.status !== 200) throw new EnrollError(`enrollment failed: ${describeAnswer(answer)}`, refusalCode(answer));
  const granted = JSON.parse(answer.body) as { hostId: string; secret: string; botUrl: string; pollMode: boolean };
  const listen =
    options.url === null
      ? null
      : {
          host: options.listen?.host ?? '127.0.0.1',
          port: options.listen?.port ?? (Number(new URL(options.url).port) || 8787),
          path: new URL(options.url).pathname || '/',
        };
  const config = {
    $schema: CONFIG_SCHEMA_URL,
    hostId: granted.hostId,
    secret: granted.secret,
    botUrl,
    listen,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    installer: options.installer,
    ...(options.allowHttpDownloads ? { allowHttpDownloads: true } : {}),
    ...(options.publishers && Object.keys(options.publishers).length ? { publishers: options.publishers } : {}),
  };
  completeConfig(config, configFile); // the file we write must load
  await writePrivateFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return { hostId: granted.hostId, pollMode: granted.pollMode, configFile };
}
