import { PluginError, formatDiagnostic, type Diagnostic } from '../plugin/diagnostics.ts';
import { ZipReadError } from '../plugin/zip-reader.ts';
import { OUR_EXIT } from '../protocol/exit-codes.ts';
import { VERSION } from '../version.ts';
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
  bot                     run the release bot (GitHub App); "bot check" tests its configuration
  hosts <action>          register and manage hosts (through the bot's admin API)
  rollouts <action>       follow rollouts; approve, retry, force, cancel or roll back hosts' jobs
  agent                   run the host agent beside a Conn2Flow site; enroll it; show its status

Run "c2f-plugin <command> --help" for a command's options; "c2f-plugin --version" for the version.
Exit codes: 0 ok, 1 the bot refused a request, 10 a file or folder could not be read or written, 11 invalid
plugin or package, 21 not a usable zip, 22 checksum mismatch, 64 wrong usage, 69 the bot cannot be reached,
70 a bug (please report it), 75 try again once fixed (a full disk), 78 configuration.
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

/** File system failures, as sentences that name the path. */
const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a file is in the way where a folder is needed',
  EEXIST: 'a file is in the way where a folder is needed',
  EISDIR: 'is a folder, where a file is needed',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name ? 0 : OUR_EXIT.USAGE;
  }
  const command = COMMANDS[name];
  const json = args.includes('--json');
  /** One failure: a line on stderr, or the failure schema on stdout with --json. */
  const failed = (exitCode: number, message: string, diagnostics?: Diagnostic[]): number => {
    if (json) printJson({ ok: false, exitCode, diagnostics: diagnostics ?? [{ severity: 'error', code: 'failed', message }] });
    else process.stderr.write(`${message}\n`);
    return exitCode;
  };
  if (!command) {
    if (json) return failed(OUR_EXIT.USAGE, `unknown command "${name}"`, [{ severity: 'error', code: 'usage', message: `unknown command "${name}"` }]);
    process.stderr.write(`c2f-plugin: unknown command "${name}"\n\n${HELP}`);
    return OUR_EXIT.USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof PluginError) {
      if (json) printJson({ ok: false, exitCode: error.exitCode, diagnostics: error.diagnostics });
      else for (const d of error.diagnostics) if (d.severity === 'error' || !args.includes('--quiet')) process.stderr.write(`${formatDiagnostic(d)}\n`);
      return error.exitCode;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const message = (error as Error).message;
      if (json) return failed(OUR_EXIT.USAGE, message, [{ severity: 'error', code: 'usage', message }]);
      process.stderr.write(`c2f-plugin ${name}: ${message}\n\n${command.help}`);
      return OUR_EXIT.USAGE;
    }
    if (error instanceof AdminApiError) {
      const code = error.status === 0 ? OUR_EXIT.UNAVAILABLE : error.status === 401 ? OUR_EXIT.CONFIG : 1;
      return failed(code, `c2f-plugin ${name}: ${error.message}`);
    }
    if (error instanceof ZipReadError) return failed(21, `c2f-plugin ${name}: ${error.message}`);
    const e = error as NodeJS.ErrnoException;
    if (e.code && FILE_ERRORS[e.code]) {
      const message = `c2f-plugin ${name}: ${e.path ? `${e.path}: ` : ''}${FILE_ERRORS[e.code]}`;
      return failed(e.code === 'ENOSPC' ? OUR_EXIT.TEMPFAIL : 10, message, [{ severity: 'error', code: e.code.toLowerCase(), message: FILE_ERRORS[e.code], ...(e.path ? { file: e.path } : {}) }]);
    }
    process.stderr.write(`c2f-plugin ${name}: unexpected error, please report it: ${e.stack ?? e}\n`);
    return OUR_EXIT.INTERNAL;
  }
}
