import { PluginError, formatDiagnostic } from '../plugin/diagnostics.ts';
import { ZipReadError } from '../plugin/zip-reader.ts';
import { OUR_EXIT } from '../protocol/exit-codes.ts';
import { AGENT_HELP, agentCommand } from './commands/agent.ts';
import { BOT_HELP, botCommand } from './commands/bot.ts';
import { DIFF_HELP, diffCommand } from './commands/diff.ts';
import { HOSTS_HELP, hostsCommand } from './commands/hosts.ts';
import { ROLLOUTS_HELP, rolloutsCommand } from './commands/rollouts.ts';
import { AdminApiError } from './admin-client.ts';
import { PACK_HELP, packCommand } from './commands/pack.ts';
import { VERIFY_HELP, verifyCommand } from './commands/verify.ts';
import { printJson } from './output.ts';
import { UsageError } from './usage-error.ts';

const HELP = `Usage: c2f-plugin <command> [options]

Commands:
  pack <dir>              build gestor-plugin.zip (+ .sha256, SHA256SUMS) from a plugin folder
  verify <zip>            check that a package is installable by Conn2Flow
  diff <old.zip> <new.zip> show what a new package changes
  bot                     run the release bot (GitHub App); see "c2f-plugin bot --help"
  hosts <action>          register and manage hosts (through the bot's admin API)
  rollouts <action>       follow rollouts; approve, retry, force, cancel or roll back hosts' jobs
  agent                   run the host agent beside a Conn2Flow site; enroll it; show its status

Run "c2f-plugin <command> --help" for a command's options.
`;

const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; help: string }> = {
  pack: { run: packCommand, help: PACK_HELP },
  verify: { run: verifyCommand, help: VERIFY_HELP },
  diff: { run: diffCommand, help: DIFF_HELP },
  bot: { run: botCommand, help: BOT_HELP },
  hosts: { run: hostsCommand, help: HOSTS_HELP },
  rollouts: { run: rolloutsCommand, help: ROLLOUTS_HELP },
  agent: { run: agentCommand, help: AGENT_HELP },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name ? 0 : OUR_EXIT.USAGE;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`c2f-plugin: unknown command "${name}"\n\n${HELP}`);
    return OUR_EXIT.USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  const json = args.includes('--json');
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof PluginError) {
      if (json) printJson({ ok: false, exitCode: error.exitCode, diagnostics: error.diagnostics });
      else for (const d of error.diagnostics) if (d.severity === 'error' || !args.includes('--quiet')) process.stderr.write(`${formatDiagnostic(d)}\n`);
      return error.exitCode;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`c2f-plugin ${name}: ${(error as Error).message}\n\n${command.help}`);
      return OUR_EXIT.USAGE;
    }
    if (error instanceof AdminApiError) {
      process.stderr.write(`c2f-plugin ${name}: ${error.message}\n`);
      return error.status === 401 || error.status === 0 ? OUR_EXIT.CONFIG : 1;
    }
    if (error instanceof ZipReadError) {
      process.stderr.write(`c2f-plugin ${name}: ${error.message}\n`);
      return 21;
    }
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'ENOSPC' || e.code === 'EISDIR') {
      process.stderr.write(`c2f-plugin ${name}: ${e.message}\n`);
      return 10;
    }
    process.stderr.write(`c2f-plugin ${name}: unexpected error, please report it: ${e.stack ?? e}\n`);
    return OUR_EXIT.INTERNAL;
  }
}
