import { OUR_EXIT } from '../protocol/exit-codes.ts';
import { VERSION } from '../version.ts';
import { agentCli } from './commands/agent.ts';
import { BOT_HELP, botCommand } from './commands/bot.ts';
import { DIFF_HELP, diffCommand } from './commands/diff.ts';
import {
  KEYGEN_HELP,
  KEYS_STATEMENT_HELP,
  keygenCommand,
  keysStatementCommand,
  SIGN_HELP,
  signCommand,
} from './commands/keys.ts';
import { HOSTS_HELP, hostsCommand } from './commands/hosts.ts';
import { REGISTRY_HELP, registryCommand } from './commands/registry.ts';
import { NOTIFICATIONS_HELP, notificationsCommand } from './commands/notifications.ts';
import { ROLLOUTS_HELP, rolloutsCommand } from './commands/rollouts.ts';
import { PACK_HELP, packCommand } from './commands/pack.ts';
import { VERIFY_HELP, verifyCommand } from './commands/verify.ts';
import { printJson } from './output.ts';
import { runCommand, type Command } from './run-command.ts';

const HELP = `Usage: c2f-plugin <command> [options]

Commands:
  pack <dir>              build gestor-plugin.zip (+ .sha256, SHA256SUMS) from a plugin folder
  verify <zip>            check that a package is installable by Conn2Flow
  diff <old.zip> <new.zip> show what a new package changes
  keygen                  create a publisher's signing key pair (minisign format)
  sign <zip> --key FILE   sign a package: gestor-plugin.zip.minisig beside it
  keys-statement          add or retire publisher keys (a statement signed by a key hosts trust)
  bot                     run the release bot (GitHub App); "bot check" tests its configuration
  hosts <action>          register and manage hosts (through the bot's admin API)
  rollouts <action>       follow rollouts; approve, retry, force, cancel or roll back hosts' jobs
  registry [...]          plugins and versions the bot knows: who signed each, which hosts run it; yank
  notifications <action>  endpoints told of halts, failures, blocks, completions and yanks
  agent                   run the host agent beside a Conn2Flow site; enroll it; show its status

Run "c2f-plugin <command> --help" for a command's options; "c2f-plugin --version" for the version.
Exit codes: 0 ok, 1 the bot refused a request, 10 a file or folder could not be read or written, 11 invalid
plugin or package, 21 not a usable zip, 22 checksum mismatch, 49 a publisher signature that does not verify,
64 wrong usage, 69 the bot cannot be reached,
70 a bug (please report it), 75 try again once fixed (a full disk), 78 configuration.
`;

const COMMANDS: Record<string, Command> = {
  pack: { run: packCommand, help: PACK_HELP },
  verify: { run: verifyCommand, help: VERIFY_HELP },
  diff: { run: diffCommand, help: DIFF_HELP },
  keygen: { run: keygenCommand, help: KEYGEN_HELP },
  sign: { run: signCommand, help: SIGN_HELP },
  'keys-statement': { run: keysStatementCommand, help: KEYS_STATEMENT_HELP },
  bot: { run: botCommand, help: BOT_HELP },
  hosts: { run: hostsCommand, help: HOSTS_HELP },
  rollouts: { run: rolloutsCommand, help: ROLLOUTS_HELP },
  registry: { run: registryCommand, help: REGISTRY_HELP },
  notifications: { run: notificationsCommand, help: NOTIFICATIONS_HELP },
  agent: agentCli(),
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
  if (!command) {
    if (args.includes('--json'))
      printJson({
        ok: false,
        exitCode: OUR_EXIT.USAGE,
        diagnostics: [{ severity: 'error', code: 'usage', message: `unknown command "${name}"` }],
      });
    else process.stderr.write(`c2f-plugin: unknown command "${name}"\n\n${HELP}`);
    return OUR_EXIT.USAGE;
  }
  return await runCommand(`c2f-plugin ${name}`, command, args);
}
