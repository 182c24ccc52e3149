import { OUR_EXIT } from '../protocol/exit-codes.ts';
import { VERSION } from '../version.ts';
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

// Each command's module is loaded when it runs: `c2f-plugin rollouts list` does not load the packer.
const COMMANDS: Record<string, () => Promise<Command>> = {
  pack: () => import('./commands/pack.ts').then((m) => ({ run: m.packCommand, help: m.PACK_HELP })),
  verify: () => import('./commands/verify.ts').then((m) => ({ run: m.verifyCommand, help: m.VERIFY_HELP })),
  diff: () => import('./commands/diff.ts').then((m) => ({ run: m.diffCommand, help: m.DIFF_HELP })),
  keygen: () => import('./commands/keys.ts').then((m) => ({ run: m.keygenCommand, help: m.KEYGEN_HELP })),
  sign: () => import('./commands/keys.ts').then((m) => ({ run: m.signCommand, help: m.SIGN_HELP })),
  'keys-statement': () =>
    import('./commands/keys.ts').then((m) => ({ run: m.keysStatementCommand, help: m.KEYS_STATEMENT_HELP })),
  bot: () => import('./commands/bot.ts').then((m) => ({ run: m.botCommand, help: m.BOT_HELP })),
  hosts: () => import('./commands/hosts.ts').then((m) => ({ run: m.hostsCommand, help: m.HOSTS_HELP })),
  rollouts: () => import('./commands/rollouts.ts').then((m) => ({ run: m.rolloutsCommand, help: m.ROLLOUTS_HELP })),
  registry: () => import('./commands/registry.ts').then((m) => ({ run: m.registryCommand, help: m.REGISTRY_HELP })),
  notifications: () =>
    import('./commands/notifications.ts').then((m) => ({ run: m.notificationsCommand, help: m.NOTIFICATIONS_HELP })),
  agent: () => import('./commands/agent.ts').then((m) => m.agentCli()),
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
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    if (args.includes('--json'))
      printJson({
        ok: false,
        exitCode: OUR_EXIT.USAGE,
        diagnostics: [{ severity: 'error', code: 'usage', message: `unknown command "${name}"` }],
      });
    else process.stderr.write(`c2f-plugin: unknown command "${name}"\n\n${HELP}`);
    return OUR_EXIT.USAGE;
  }
  return await runCommand(`c2f-plugin ${name}`, await load(), args);
}
