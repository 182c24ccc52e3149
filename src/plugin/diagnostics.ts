// A problem found in a user's files: what, where (file:line:column) and, when we know it, how to fix it.
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable name, e.g. `manifest-version`. */
  code: string;
  message: string;
  /** Path relative to the plugin root (or the zip), with `/` separators. */
  file?: string;
  line?: number;
  column?: number;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}:${d.column ?? 1}` : ''}: ` : '';
  return `${where}${d.severity}: ${d.message} [${d.code}]`;
}

/** A failure that stops the work; carries every diagnostic that explains it. */
export class PluginError extends Error {
  readonly diagnostics: Diagnostic[];
  /** The Conn2Flow PLG_EXIT_* code a CLI should end with. */
  readonly exitCode: number;

  constructor(diagnostics: Diagnostic[], exitCode: number) {
    super(
      diagnostics
        .filter((d) => d.severity === 'error')
        .map(formatDiagnostic)
        .join('\n') || 'failed',
    );
    this.diagnostics = diagnostics;
    this.exitCode = exitCode;
  }
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
