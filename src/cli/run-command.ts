import { PluginError, formatDiagnostic, type Diagnostic } from '../plugin/diagnostics.ts';
import { MinisignError } from '../plugin/minisign.ts';
import { ZipReadError } from '../plugin/zip-reader.ts';
import { OUR_EXIT } from '../protocol/exit-codes.ts';
import { AdminApiError } from './admin-client.ts';
import { printJson } from './output.ts';
import { UsageError } from './usage-error.ts';

// Runs one command and turns every failure a user can cause into one line (or, with --json, the failure
// schema) and its documented exit code; anything else is a bug, reported with its stack and exit 70.

export interface Command {
  run: (args: string[]) => Promise<number>;
  help: string;
}

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

/** node:util parseArgs's complaints, in our words (its own quote a hint about "--" that does not apply). */
function usageMessage(error: Error & { code?: string }): string {
  const option = /'(-{1,2}[^'\s]*)/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? error.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(error.message)
        ? `${option ?? 'an option'} needs a value`
        : `${option ?? 'an option'} takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(error.message)?.[1] ?? ''}`.trim();
    default:
      return error.message;
  }
}

/** `label` names the command in messages ("c2f-plugin pack", "c2f-agent"). */
export async function runCommand(label: string, command: Command, args: string[]): Promise<number> {
  const json = args.includes('--json');
  /** One failure: a line on stderr, or the failure schema on stdout with --json. */
  const failed = (exitCode: number, message: string, diagnostics?: Diagnostic[]): number => {
    if (json)
      printJson({ ok: false, exitCode, diagnostics: diagnostics ?? [{ severity: 'error', code: 'failed', message }] });
    else process.stderr.write(`${message}\n`);
    return exitCode;
  };
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof PluginError) {
      if (json) printJson({ ok: false, exitCode: error.exitCode, diagnostics: error.diagnostics });
      else
        for (const d of error.diagnostics)
          if (d.severity === 'error' || !args.includes('--quiet')) process.stderr.write(`${formatDiagnostic(d)}\n`);
      return error.exitCode;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const message = usageMessage(error as Error & { code?: string });
      if (json) return failed(OUR_EXIT.USAGE, message, [{ severity: 'error', code: 'usage', message }]);
      process.stderr.write(`${label}: ${message}; "${label} --help" shows how to use it\n`);
      return OUR_EXIT.USAGE;
    }
    if (error instanceof AdminApiError) {
      const refused = error.status === 401 || error.setupMode ? OUR_EXIT.CONFIG : 1;
      const code = error.status === 0 ? OUR_EXIT.UNAVAILABLE : refused;
      return failed(code, `${label}: ${error.message}`);
    }
    if (error instanceof ZipReadError) return failed(21, `${label}: ${error.message}`);
    if (error instanceof MinisignError) return failed(OUR_EXIT.CONFIG, `${label}: ${error.message}`);
    const e = error as NodeJS.ErrnoException;
    if (e.code && FILE_ERRORS[e.code]) {
      const message = `${label}: ${e.path ? `${e.path}: ` : ''}${FILE_ERRORS[e.code]}`;
      return failed(e.code === 'ENOSPC' ? OUR_EXIT.TEMPFAIL : 10, message, [
        {
          severity: 'error',
          code: e.code.toLowerCase(),
          message: FILE_ERRORS[e.code],
          ...(e.path ? { file: e.path } : {}),
        },
      ]);
    }
    process.stderr.write(`${label}: unexpected error, please report it: ${e.stack ?? e}\n`);
    return OUR_EXIT.INTERNAL;
  }
}
