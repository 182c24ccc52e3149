import path from 'node:path';
import { parseArgs } from 'node:util';
import { OUR_EXIT } from '../../protocol/exit-codes.ts';
import { printJson } from '../output.ts';
import type { PublisherTrust } from '../../agent/config.ts';
import { formatPublicKey } from '../../plugin/minisign.ts';
import { UsageError } from '../usage-error.ts';
import { readPublicKey } from './verify.ts';

const AGENT_HELP = `Usage: c2f-plugin agent --config FILE              run the host agent
       c2f-plugin agent enroll --bot URL --token T [options]
       c2f-plugin agent status --config FILE [--json]

enroll trades a one-time token ("c2f-plugin hosts enroll-token") for this host's id and secret and writes
the config file (default ./c2f-agent.json, mode 0600):
  --url URL                 where the bot pushes jobs (omit it for pull mode: the agent polls the bot)
  --listen HOST:PORT        where the agent listens (default 127.0.0.1 and the URL's port, or 8787)
  --gestor DIR              install with the site's own Conn2Flow installer (the site's gestor/ folder)
  --installer-command CMD   or run a command ({zip} {plugin} {version} {action} are replaced; its exit
                            code is read as a Conn2Flow PLG_EXIT_* code)
  --data-dir DIR            journal, downloads and backups (default c2f-agent-data beside the config)
  --allow-http-downloads    accept http:// package URLs (closed networks, tests)
  --publisher PLUGIN=KEY    install PLUGIN only when signed by KEY (a minisign .pub file or its base64
                            line; repeatable), checked on this host; PLUGIN=first-use pins the key of the
                            first verified install; PLUGIN may be * for every plugin without its own
  --provenance PLUGIN=OWNER/REPO[:WORKFLOW][@TAGS]
                            install PLUGIN only when its build provenance, checked on this host, says
                            OWNER/REPO built it (with WORKFLOW, e.g. .github/workflows/release.yml, for a tag
                            matching TAGS, * for any characters); repeatable, combines with --publisher
  --force                   replace an existing config file
`;

/** The agent's commands under the name they are run as: "c2f-plugin agent", or the agent executable's. */
export function agentCli(program = 'c2f-plugin agent'): { run: (args: string[]) => Promise<number>; help: string } {
  return { run: (args) => agentCommand(program, args), help: AGENT_HELP.replaceAll('c2f-plugin agent', program) };
}

async function agentCommand(program: string, args: string[]): Promise<number> {
  const [first] = args;
  if (first === 'enroll') return await enroll(program, args.slice(1));
  if (first === 'status') return await status(program, args.slice(1));
  const { values } = parseArgs({ args, options: { config: { type: 'string' } } });
  if (!values.config) throw new UsageError('--config FILE is required');
  const { loadConfig, ConfigError } = await import('../../agent/config.ts');
  const { Agent } = await import('../../agent/agent.ts');
  const { JournalInUseError } = await import('../../agent/journal.ts');
  const { DiskFullError } = await import('../../agent/disk-full.ts');
  let agent;
  try {
    agent = new Agent(await loadConfig(values.config));
  } catch (error) {
    if (error instanceof DiskFullError) {
      process.stderr.write(`${program}: ${error.message}\n`);
      return OUR_EXIT.TEMPFAIL;
    }
    if (!(error instanceof ConfigError) && !(error instanceof JournalInUseError)) throw error;
    process.stderr.write(`${program}: ${error.message}\n`);
    return OUR_EXIT.CONFIG;
  }
  let url: string | null;
  try {
    ({ url } = await agent.start());
  } catch (error) {
    await agent.stop();
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${program}: ${error.message}\n`);
    return OUR_EXIT.CONFIG;
  }
  process.stdout.write(
    url
      ? `agent ${agent.config.hostId} receiving jobs on ${url}\n`
      : `agent ${agent.config.hostId} polling ${agent.config.botUrl}\n`,
  );
  return await new Promise<number>((resolve) => {
    const stop = () => agent.stop().then(() => resolve(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

async function enroll(program: string, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      bot: { type: 'string' },
      token: { type: 'string' },
      config: { type: 'string', default: 'c2f-agent.json' },
      url: { type: 'string' },
      listen: { type: 'string' },
      gestor: { type: 'string' },
      'installer-command': { type: 'string' },
      'data-dir': { type: 'string' },
      'allow-http-downloads': { type: 'boolean', default: false },
      publisher: { type: 'string', multiple: true, default: [] },
      provenance: { type: 'string', multiple: true, default: [] },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.bot || !values.token) throw new UsageError('--bot URL and --token T are required');
  if (Boolean(values.gestor) === Boolean(values['installer-command']))
    throw new UsageError('choose one installer: --gestor DIR or --installer-command CMD');
  let listen: { host: string; port: number } | null = null;
  if (values.listen) {
    const match = /^(.+):(\d+)$/.exec(values.listen);
    if (!match) throw new UsageError('--listen takes HOST:PORT');
    listen = { host: match[1].replace(/^\[|\]$/g, ''), port: Number(match[2]) };
  }
  const publishers = await publishersFrom(values.publisher!);
  provenanceFrom(values.provenance!, publishers);
  const { enrollAgent, EnrollError } = await import('../../agent/enroll.ts');
  const installer = values.gestor
    ? { type: 'conn2flow' as const, gestorDir: path.resolve(values.gestor) }
    : { type: 'command' as const, command: ['/bin/sh', '-c', values['installer-command']!] };
  try {
    const result = await enrollAgent({
      botUrl: values.bot,
      token: values.token,
      configFile: values.config!,
      url: values.url ?? null,
      listen,
      installer,
      dataDir: values['data-dir'] ? path.resolve(values['data-dir']) : undefined,
      allowHttpDownloads: values['allow-http-downloads'],
      publishers,
      overwrite: values.force,
    });
    if (values.json) printJson(result);
    else
      process.stdout.write(
        `enrolled as host ${result.hostId} (${result.pollMode ? 'pull mode' : 'push mode'}); config written to ${result.configFile}\nrun it with: ${program} --config ${result.configFile}\n`,
      );
    return 0;
  } catch (error) {
    if (!(error instanceof EnrollError)) throw error;
    process.stderr.write(`${program} enroll: ${error.message}\n`);
    return error.exitCode;
  }
}

async function status(program: string, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      limit: { type: 'string', default: '20' },
    },
  });
  if (!values.config) throw new UsageError('--config FILE is required');
  const { loadConfig, ConfigError } = await import('../../agent/config.ts');
  const { Journal } = await import('../../agent/journal.ts');
  const { agentStatus, formatStatus } = await import('../../agent/status.ts');
  let config;
  try {
    config = await loadConfig(values.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${program} status: ${error.message}\n`);
    return OUR_EXIT.CONFIG;
  }
  const journal = new Journal(config.dataDir);
  try {
    const result = agentStatus(journal, Number(values.limit));
    if (values.json) printJson(result);
    else process.stdout.write(formatStatus(result));
  } finally {
    journal.close();
  }
  return 0;
}

/** --provenance PLUGIN=OWNER/REPO[:WORKFLOW][@TAGS], added to the publishers (checked before the token is used). */
function provenanceFrom(given: readonly string[], publishers: Record<string, PublisherTrust>): void {
  for (const entry of given) {
    const match =
      /^(\*|[a-z0-9][a-z0-9_-]*)=([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)(?::(\.github\/workflows\/[^@]+\.ya?ml))?(?:@(.{1,128}))?$/.exec(
        entry,
      );
    if (!match)
      throw new UsageError(
        `--provenance takes PLUGIN=OWNER/REPO[:.github/workflows/FILE.yml][@TAG-PATTERN], not ${entry}`,
      );
    const [, pluginId, repository, workflow, tagPattern] = match;
    const trust = (publishers[pluginId] ??= { keys: [], trustOnFirstUse: false });
    trust.provenance = { repository, ...(workflow ? { workflow } : {}), ...(tagPattern ? { tagPattern } : {}) };
  }
}

/** --publisher PLUGIN=KEY and PLUGIN=first-use, as the config's publishers (checked before the token is used). */
async function publishersFrom(given: readonly string[]): Promise<Record<string, PublisherTrust>> {
  const publishers: Record<string, PublisherTrust> = {};
  for (const entry of given) {
    const match = /^(\*|[a-z0-9][a-z0-9_-]*)=(.+)$/.exec(entry);
    if (!match) throw new UsageError(`--publisher takes PLUGIN=KEY or PLUGIN=first-use, not ${entry}`);
    const trust = (publishers[match[1]] ??= { keys: [], trustOnFirstUse: false });
    if (match[2] === 'first-use') trust.trustOnFirstUse = true;
    else {
      try {
        trust.keys.push(formatPublicKey(await readPublicKey(match[2])).split('\n')[1]);
      } catch (error) {
        throw new UsageError(`--publisher ${entry}: ${(error as Error).message}`);
      }
    }
  }
  return publishers;
}
