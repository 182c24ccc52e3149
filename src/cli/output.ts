import { formatDiagnostic, type Diagnostic } from '../plugin/diagnostics.ts';
import { printableJson } from '../printable.ts';

// Everything the CLI prints goes through here: results to stdout, diagnostics and progress to stderr.

export interface Output {
  json: boolean;
  quiet: boolean;
}

export function printDiagnostics(diagnostics: readonly Diagnostic[], output: Output): void {
  if (output.json) return;
  for (const d of diagnostics) {
    if (output.quiet && d.severity !== 'error') continue;
    process.stderr.write(`${formatDiagnostic(d)}\n`);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${printableJson(JSON.stringify(value, null, 2))}\n`);
}

/** A progress line: rewritten in place on a terminal, at most every two seconds otherwise. */
export function progressLine(output: Output): { update(text: string): void; done(): void } {
  if (output.json || output.quiet) return { update() {}, done() {} };
  const tty = process.stderr.isTTY;
  // Off a terminal (CI logs, pipes) a line only once the work has taken a while, then every two seconds.
  let last = tty ? 0 : Date.now();
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (tty) {
        if (now - last < 100) return;
        process.stderr.write(`\r\x1b[K${text}`);
        shown = true;
      } else {
        if (now - last < 2000) return;
        process.stderr.write(`${text}\n`);
      }
      last = now;
    },
    done() {
      if (tty && shown) process.stderr.write('\r\x1b[K');
    },
  };
}
