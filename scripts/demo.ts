// `npm run demo`: the whole pipeline, offline, on this machine. Packs examples/hello-plugin, publishes it on
// a local GitHub API stand-in (as a private repository, so the bot serves the package itself), starts the
// bot on PGlite and two agents (one `auto`, one `manual`, each enrolled with a one-time token and installing
// with a stand-in command), sends a signed release.published webhook, approves the manual host, and prints
// the rollout as it changes until both hosts report ok. Exits 0 when they do, 1 otherwise. With --keep it
// then stays up until Ctrl-C and prints what to try: the console (the stand-in plays GitHub's sign-in too),
// the admin token and the operator commands.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Probot } from 'probot';
import { readBotConfig } from '../src/bot/config.ts';
import { createBot, WEBHOOK_PATH } from '../src/bot/server.ts';
import { pack } from '../src/plugin/pack.ts';
import { GitHubStandIn } from '../dev/github/stand-in.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The CLI as users run it: the bundle `npm ci` (or `npm run build`) writes.
const CLI = path.join(REPO, 'dist', 'cli.js');
const REPOSITORY = 'conn2flow-demo/hello-plugin';
const WEBHOOK_SECRET = randomBytes(16).toString('hex');
const ADMIN_TOKEN = randomBytes(16).toString('hex');
const TIMEOUT_MS = Number(process.env.DEMO_TIMEOUT_MS ?? 120_000);
const KEEP = process.argv.includes('--keep');

const say = (line: string) => process.stdout.write(`${line}\n`);
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function runCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`c2f-plugin ${args[0]} ${args[1] ?? ''} failed (${code}): ${err || out}`)),
    );
  });
}

function startAgent(configFile: string, name: string): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'agent', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stderr.on('data', (d) => process.env.DEMO_VERBOSE && process.stderr.write(`[${name}] ${d}`));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      if (/receiving jobs on/.test(String(d))) resolve();
    });
    child.once('exit', (code) => reject(new Error(`agent ${name} exited with ${code}`)));
  });
}

async function main(): Promise<number> {
  const work = await mkdtemp(path.join(tmpdir(), 'c2f-demo-'));
  const github = new GitHubStandIn();
  let stopBot = async () => {};
  try {
    say('1. pack examples/hello-plugin');
    const summary = await pack(path.join(REPO, 'examples', 'hello-plugin'), {
      outDir: path.join(work, 'out'),
      baseline: false,
    });
    say(
      `   ${summary.plugin.id} ${summary.plugin.version}: ${summary.zip.size} bytes, sha256 ${summary.zip.sha256.slice(0, 16)}…`,
    );

    say("2. start the GitHub API stand-in (it plays GitHub: the release, its webhook, the console's sign-in)");
    await github.start();
    const tag = `plugin-${summary.plugin.id}-v${summary.plugin.version}`;

    say('3. start the bot (PGlite store)');
    const port = await freePort();
    const botUrl = `http://127.0.0.1:${port}`;
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    // The App as GitHub knows it: its webhook URL, and its OAuth client for the console's sign-in.
    const app = github.apps.trust(1, privateKey, WEBHOOK_SECRET, {
      hook_attributes: { url: `${botUrl}${WEBHOOK_PATH}` },
      callback_urls: [`${botUrl}/console/oauth/callback`],
    });
    const probot = new Probot({
      appId: 1,
      privateKey,
      secret: WEBHOOK_SECRET,
      baseUrl: github.url,
      logLevel: 'warn',
    } as ConstructorParameters<typeof Probot>[0]);
    // The same composition root and settings as `c2f-plugin bot`, read from this environment; GitHub is the
    // stand-in, as a GitHub Enterprise Server would be named.
    Object.assign(process.env, { GHE_HOST: new URL(github.url).host, GHE_PROTOCOL: 'http' });
    const config = readBotConfig({
      APP_ID: '1',
      C2F_BOT_URL: botUrl,
      C2F_SECRET_KEY: randomBytes(32).toString('base64'),
      C2F_ADMIN_TOKEN: ADMIN_TOKEN,
      C2F_DATA_DIR: path.join(work, 'bot-data'),
      C2F_CHECK_RUN_DELAY_SECONDS: '1',
      GITHUB_CLIENT_ID: app.clientId,
      GITHUB_CLIENT_SECRET: app.clientSecret,
      C2F_CONSOLE_USERS: github.oauth.signedIn,
    });
    const bot = await createBot(probot, config, { queue: { resolveRetry: { retryDelay: 1, retryDelayMax: 2 } } });
    await new Promise<void>((resolve) => bot.server.listen(port, '127.0.0.1', resolve));
    stopBot = () => bot.stop();
    const admin = async (method: string, route: string, body?: unknown) => {
      const response = await fetch(`${botUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
      return (await response.json()) as any;
    };

    say('4. enroll and start two agents (site-auto: policy auto, site-manual: policy manual)');
    for (const [name, policy] of [
      ['site-auto', 'auto'],
      ['site-manual', 'manual'],
    ] as const) {
      const { token } = await admin('POST', '/api/admin/enrollments', {
        name,
        policy,
        plugins: [`${REPOSITORY}:${summary.plugin.id}`],
        allowPrivateNetwork: true,
      });
      const agentPort = await freePort();
      const site = path.join(work, name);
      const configFile = path.join(work, `${name}.json`);
      const installer = `mkdir -p "${site}/plugins" && cp "$C2F_ZIP" "${site}/plugins/$C2F_PLUGIN-$C2F_VERSION.zip" && echo "installed $C2F_PLUGIN $C2F_VERSION"`;
      await runCli([
        'agent',
        'enroll',
        '--bot',
        botUrl,
        '--token',
        token,
        '--url',
        `http://127.0.0.1:${agentPort}/c2f/jobs`,
        '--installer-command',
        installer,
        '--config',
        configFile,
        '--data-dir',
        path.join(site, 'agent-data'),
        '--allow-http-downloads',
      ]);
      await startAgent(configFile, name);
      say(`   ${name} enrolled and listening on port ${agentPort}`);
    }

    say(`5. GitHub publishes ${tag} (a private repository) and sends release.published`);
    const { webhook } = await github.publishRelease(
      { url: `${botUrl}${WEBHOOK_PATH}`, secret: WEBHOOK_SECRET },
      REPOSITORY,
      { tagName: tag, zip: await readFile(summary.zip.path), sha256Text: await readFile(summary.sha256File, 'utf8') },
      { privateRepository: true, installationId: 1 },
    );
    say(`   the bot answered ${webhook.status}`);

    say('6. the rollout, as it changes:');
    const hosts = new Map<string, string>(
      ((await admin('GET', '/api/admin/hosts')) as Array<{ id: string; name: string }>).map((h) => [h.id, h.name]),
    );
    const deadline = Date.now() + TIMEOUT_MS;
    let last = '';
    let approved = false;
    while (Date.now() < deadline) {
      const [rollout] = (await admin('GET', '/api/admin/rollouts')) as Array<{ id: string }>;
      if (rollout) {
        const shown = await admin('GET', `/api/admin/rollouts/${rollout.id}`);
        const jobs = shown.jobs as Array<{
          id: string;
          hostId: string;
          state: string;
          exitCode: number | null;
          exitLabel: string | null;
          reason: string | null;
          installedVersion: string | null;
        }>;
        const table = jobs
          .map(
            (j) =>
              `   ${(hosts.get(j.hostId) ?? j.hostId).padEnd(12)} ${j.state.padEnd(18)} ${j.exitCode === null ? '' : `${j.exitCode} ${j.exitLabel}`.padEnd(8)} ${j.installedVersion ?? ''}`,
          )
          .sort()
          .join('\n');
        if (table !== last) {
          say(`   -- ${new Date().toISOString().slice(11, 19)}\n${table}`);
          last = table;
        }
        const waiting = jobs.find((j) => j.state === 'awaiting_approval');
        if (waiting && !approved) {
          say(`   approving ${hosts.get(waiting.hostId)} (c2f-plugin rollouts approve ${rollout.id} ${waiting.id})`);
          await runCli(['rollouts', 'approve', rollout.id, waiting.id, '--bot', botUrl]);
          approved = true;
        }
        if (jobs.length === 2 && jobs.every((j) => j.state === 'ok')) {
          say(
            `7. both hosts report ok: ${summary.plugin.id} ${summary.plugin.version} is installed on site-auto and site-manual`,
          );
          if (KEEP) await keepRunning(botUrl, rollout.id, jobs[0].id);
          return 0;
        }
        const failed = jobs.find((j) => ['failed', 'dead_lettered', 'cancelled'].includes(j.state));
        if (failed) {
          say(`the rollout failed on ${hosts.get(failed.hostId)}: ${failed.state} ${failed.reason ?? ''}`);
          return 1;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    say(`the rollout did not finish within ${TIMEOUT_MS / 1000} s`);
    return 1;
  } finally {
    children.forEach((child) => child.kill('SIGTERM'));
    await stopBot();
    await github.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** Stays up until Ctrl-C (or SIGTERM), after saying what to try. */
async function keepRunning(botUrl: string, rolloutId: string, jobId: string): Promise<void> {
  const cli = path.relative(process.cwd(), CLI) || CLI;
  say(`8. the demo keeps running until Ctrl-C. Try:
   the console:  ${botUrl}/console  ("Sign in with GitHub": the stand-in signs you in as octocat)
   the operator commands, in another terminal:
     export C2F_BOT_URL=${botUrl} C2F_ADMIN_TOKEN=${ADMIN_TOKEN}
     node ${cli} hosts list
     node ${cli} rollouts list
     node ${cli} rollouts show ${rolloutId} --log
     node ${cli} rollouts force ${rolloutId} ${jobId}
     node ${cli} rollouts rollback ${rolloutId}
     node ${cli} hosts uninstall <a host id from hosts list> --plugin hello-plugin
     node ${cli} rollouts events --jsonl`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  say('stopping');
}

process.env.C2F_ADMIN_TOKEN = ADMIN_TOKEN;
main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`demo failed: ${(error as Error).stack ?? error}\n`);
    children.forEach((child) => child.kill('SIGKILL'));
    process.exit(1);
  },
);
