import { parseArgs } from 'node:util';
import { OUR_EXIT } from '../../protocol/exit-codes.ts';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';

export const BOT_HELP = `Usage: c2f-plugin bot            run the release bot (a Probot GitHub App)
       c2f-plugin bot check [--json]  check its configuration: App credentials accepted by GitHub, its
                                     permissions and webhook URL, webhook secret, secret key, database,
                                     and the bot answering at C2F_BOT_URL (exit 0 all good, 78 otherwise)

Without GitHub App credentials the bot starts in setup mode: it prints a link to a page that registers its
App on GitHub (private, with the permissions and events it needs, webhooks sent to C2F_BOT_URL), writes the
credentials to .env and starts. Configuration comes from the environment and from .env in the working folder:
  C2F_BOT_URL                           the bot's public URL (required): GitHub sends webhooks to
                                        <C2F_BOT_URL>/api/github/webhooks, hosts report to it and
                                        download private packages from it
  APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET
                                        the GitHub App (written by setup mode)
  C2F_SECRET_KEY                        32 bytes (base64) that seal host secrets at rest (required)
  DATABASE_URL                          PostgreSQL (production); otherwise PGlite in C2F_DATA_DIR
  C2F_DATA_DIR                          the embedded store's folder (default .c2f-bot-data)
  C2F_ADMIN_TOKEN                       bearer token of the admin API (hosts, rollouts); 16+ characters
  C2F_PULL_LEASE_SECONDS                how long a job handed to a polling host waits for its first
                                        report before it is handed out again (default 60)
  C2F_PUSH_TIMEOUT_MS                   time limit of one push to a host (default 10000)
  C2F_RETRY_SCHEDULE                    seconds before each push retry, comma-separated (default: about
                                        three days: 5,300,1800,7200,18000,36000,36000,50400,72000)
  C2F_CHECK_RUN_DELAY_SECONDS           seconds a check-run update waits to gather changes (default 5)
  C2F_RETENTION_DAYS                    days the event log, webhook deliveries and finished jobs' history
                                        and reports are kept (default 180)
  C2F_REPORT_CHECK_SECONDS              how long a job a host took may go without word before the bot
                                        asks the host again (default 300)
  C2F_JOB_DEADLINE_SECONDS              a job's deadline; one the host said nothing about for this long
                                        fails (default 259200: three days)
  PORT (3000), HOST (localhost), LOG_LEVEL, GHE_HOST, GHE_PROTOCOL
                                        as Probot reads them (GHE_HOST: a GitHub Enterprise Server)
`;

export async function botCommand(args: string[]): Promise<number> {
  if (args[0] === 'check') return await checkCommand(args.slice(1));
  if (args.length)
    throw new UsageError(
      `unexpected argument ${JSON.stringify(args[0])}: "c2f-plugin bot" runs the bot, "c2f-plugin bot check" checks its configuration`,
    );
  const { startBot, startupExitCode } = await import('../../bot/main.ts');
  try {
    await startBot();
  } catch (error) {
    const code = startupExitCode(error);
    if (code === undefined) throw error;
    process.stderr.write(`c2f-plugin bot: ${(error as Error).message}\n`);
    return code;
  }
  return await new Promise<number>(() => {}); // runs until stopped
}

async function checkCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: false,
  });
  const { loadDotEnv } = await import('../../bot/main.ts');
  const { checkSetup } = await import('../../bot/setup/check-setup.ts');
  loadDotEnv();
  const findings = await checkSetup(process.env);
  const ok = findings.every((finding) => finding.ok);
  if (values.json) printJson({ ok, findings });
  else {
    const width = Math.max(...findings.map((finding) => finding.check.length));
    for (const finding of findings)
      process.stdout.write(
        `${finding.ok ? 'ok  ' : 'FAIL'} ${finding.check.padEnd(width)}  ${finding.detail.replace(/\n/g, `\n${' '.repeat(width + 7)}`)}\n`,
      );
    const failed = findings.filter((finding) => !finding.ok).length;
    process.stdout.write(
      failed ? `${failed} of ${findings.length} checks failed\n` : `all ${findings.length} checks passed\n`,
    );
  }
  return ok ? 0 : OUR_EXIT.CONFIG;
}
