import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after } from 'node:test';
import { NODE_FLAGS, REPO, run, tempDir, waitFor, type Run } from '../helpers.ts';
import type { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { freshPgliteFolder } from '../bot/databases.ts';

// The programs as users run them: the built bundle (dist/cli.js, what the `c2f-plugin` bin points at), as
// real processes. `npm test` builds it first; a module the bundle lacks fails here, not on a user's machine.

export const BUNDLE = path.join(REPO, 'dist', 'cli.js');

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

export async function bundleBuilt(): Promise<void> {
  await access(BUNDLE).catch(() => {
    throw new Error(`${BUNDLE} is missing: run "npm run build" (npm test does)`);
  });
}

/** `c2f-plugin <args>` from the bundle, run to completion, from a folder outside the repository. */
export async function bundleCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return run(process.execPath, [...NODE_FLAGS, BUNDLE, ...args], { env, cwd: cwd ?? (await tempDir('c2f-cwd-')) });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** What a bot process keeps across a restart: its App key, webhook secret, admin token and store key. */
export interface BotSecrets {
  adminToken: string;
  webhookSecret: string;
  privateKey: string;
  secretKey: string;
}

export function botSecrets(): BotSecrets {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return {
    adminToken: randomBytes(16).toString('hex'),
    webhookSecret: randomBytes(16).toString('hex'),
    privateKey,
    secretKey: randomBytes(32).toString('base64'),
  };
}

export interface BundleBot {
  url: string;
  pid: number;
  adminToken: string;
  webhookSecret: string;
  /** The environment the CLI's admin commands need to reach this bot. */
  cliEnv: NodeJS.ProcessEnv;
  output: () => string;
  stop(): Promise<void>;
  /** Kills the process at once (SIGKILL), as a crash or a power cut would. */
  kill(): Promise<void>;
}

/**
 * `c2f-plugin bot` from the bundle (or another copy of the CLI: `cli`), with GitHub pointed at the stand-in
 * (as GitHub Enterprise: GHE_HOST).
 */
export async function startBundleBot(
  github: GitHubStandIn,
  options: {
    databaseUrl?: string;
    env?: NodeJS.ProcessEnv;
    cli?: string;
    port?: number;
    dataDir?: string;
    secrets?: BotSecrets;
  } = {},
): Promise<BundleBot> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const secrets = options.secrets ?? botSecrets();
  const { adminToken, webhookSecret, privateKey } = secrets;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    APP_ID: '1',
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: webhookSecret,
    GHE_HOST: new URL(github.url).host,
    GHE_PROTOCOL: 'http',
    C2F_SECRET_KEY: secrets.secretKey,
    C2F_BOT_URL: url,
    C2F_ADMIN_TOKEN: adminToken,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    // A migrated data folder copied from the run's shared template (creating a PGlite cluster costs seconds of
    // CPU each time); the first start on an empty folder has a test of its own (bot/start).
    ...(options.databaseUrl
      ? { DATABASE_URL: options.databaseUrl }
      : { C2F_DATA_DIR: options.dataDir ?? (await freshPgliteFolder()) }),
    ...options.env,
  };
  const child = spawn(process.execPath, [...NODE_FLAGS, options.cli ?? BUNDLE, 'bot'], {
    env,
    cwd: await tempDir('c2f-bot-cwd-'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the bot exited with ${child.exitCode}:\n${output}`);
      return fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    'the bot to listen',
    60_000,
  );
  return {
    url,
    pid: child.pid!,
    adminToken,
    webhookSecret,
    output: () => output,
    cliEnv: { C2F_BOT_URL: url, C2F_ADMIN_TOKEN: adminToken, C2F_OPERATOR: 'walkthrough' },
    stop: async () => {
      // Gone already (the file's last hook kills what is left with SIGKILL): no exit event will come.
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** How the host agent is run: `c2f-plugin agent` from the bundle, or the agent executable. */
export interface AgentProgram {
  command: string;
  prefix: string[];
  env: NodeJS.ProcessEnv;
  /** Whether anything the agent started tried to run Node.js (the executable must not need it). */
  calledNode(): Promise<boolean>;
}

export const BUNDLE_AGENT: AgentProgram = {
  command: process.execPath,
  prefix: [BUNDLE, 'agent'],
  env: {},
  calledNode: async () => false,
};

export const AGENT_EXECUTABLE = path.join(REPO, 'dist-agent', 'c2f-agent-linux-x64');

/**
 * The agent executable (built by "npm run build:agent", which npm test runs), on a PATH whose first folder
 * holds a `node`, `npm` and `npx` that only leave a mark: a host without Node.js is what it is built for.
 */
export async function executableAgent(): Promise<AgentProgram> {
  await access(AGENT_EXECUTABLE).catch(() => {
    throw new Error(`${AGENT_EXECUTABLE} is missing: run "npm run build:agent" (npm test does)`);
  });
  const shims = await tempDir('c2f-no-node-');
  const mark = path.join(shims, 'node-was-called');
  await mkdir(path.join(shims, 'bin'));
  for (const name of ['node', 'npm', 'npx']) {
    await writeFile(path.join(shims, 'bin', name), `#!/bin/sh\necho "$0 $*" >> '${mark}'\nexit 127\n`, { mode: 0o755 });
  }
  return {
    command: AGENT_EXECUTABLE,
    prefix: [],
    env: { PATH: `${path.join(shims, 'bin')}:/usr/local/bin:/usr/bin:/bin`, NODE_OPTIONS: '' },
    calledNode: () =>
      access(mark).then(
        () => true,
        () => false,
      ),
  };
}

/** The agent's `enroll` or `status`, run to completion from a folder outside the repository. */
export async function runAgent(program: AgentProgram, args: string[]): Promise<Run> {
  return run(program.command, [...program.prefix, ...args], { env: program.env, cwd: await tempDir('c2f-cwd-') });
}

export interface BundleAgent {
  output: () => string;
  stop(): Promise<void>;
}

/** `c2f-plugin agent --config FILE` (or the executable's); resolves once it listens (or polls). */
export async function startBundleAgent(configFile: string, program: AgentProgram = BUNDLE_AGENT): Promise<BundleAgent> {
  const child = spawn(program.command, [...program.prefix, '--config', configFile], {
    cwd: path.dirname(configFile),
    env: { ...process.env, ...program.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the agent exited with ${child.exitCode}:\n${output}`);
      return /receiving jobs on|polling/.test(output);
    },
    'the agent to start',
    30_000,
  );
  return {
    output: () => output,
    stop: async () => {
      // Gone already (the file's last hook kills what is left with SIGKILL): no exit event will come.
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
