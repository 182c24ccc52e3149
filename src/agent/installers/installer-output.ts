// admin-plugins.php prints log lines, then a pretty-printed JSON result, and exits 0 whatever happened.
// This finds that JSON.

export interface AdminPluginsResult {
  status?: string;
  acao?: string;
  codigo_saida?: number;
  log?: string[] | string;
  mensagem?: string;
  msg?: string;
}

export function parseInstallerOutput(stdout: string): AdminPluginsResult | undefined {
  const lines = stdout.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('{')) continue;
    try {
      const value = JSON.parse(lines.slice(i).join('\n').trim());
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as AdminPluginsResult;
    } catch {}
  }
  return undefined;
}
