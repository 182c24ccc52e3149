import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PluginError, type Diagnostic } from './diagnostics.ts';
import { GENERATED_FILES, type GeneratedKind } from './data-files.ts';
import { baselineFromRows, type Baseline } from './generate-data.ts';
import { parseJsonSource } from './json-source.ts';
import type { PhpValue } from './php-value.ts';
import { readZip } from './zip-reader.ts';

// The previous Data.json rows that `versao` is computed against: the plugin's own db/data by default, or a
// previous release (its gestor-plugin.zip, or a folder holding it unpacked, or a db/data folder).

export interface LoadedBaseline {
  baseline: Baseline;
  /** What was used, for the summary. */
  source: string;
  diagnostics: Diagnostic[];
}

const KINDS = ['layouts', 'paginas', 'componentes'] as const;

export async function loadBaseline(pluginRoot: string, given?: string): Promise<LoadedBaseline> {
  const diagnostics: Diagnostic[] = [];
  const texts: Partial<Record<GeneratedKind, { text: string; file: string }>> = {};
  let source: string;
  const info = given ? await stat(given).catch(() => undefined) : undefined;
  if (given && !info)
    throw new PluginError(
      [
        {
          severity: 'error',
          code: 'baseline-missing',
          message: `the baseline does not exist: pass the previous release's gestor-plugin.zip or its db/data folder, or leave --baseline out`,
          file: given,
        },
      ],
      10,
    );

  if (info?.isFile()) {
    source = given!;
    const names = new Map<string, GeneratedKind>(KINDS.map((k) => [GENERATED_FILES[k], k]));
    const zip = await readZip(
      given!,
      (name) => /(^|\/)db\/data\/[^/]+$/.test(name) && names.has(path.posix.basename(name)),
    );
    // Prefer files at the zip root; fall back to the first wrapper folder found.
    const sorted = [...zip.contents.keys()].sort((a, b) => a.split('/').length - b.split('/').length);
    for (const name of sorted) {
      const kind = names.get(path.posix.basename(name))!;
      texts[kind] ??= { text: zip.contents.get(name)!.toString('utf8'), file: `${given}:${name}` };
    }
  } else {
    const base = given ?? pluginRoot;
    const dataDir = (await stat(path.join(base, 'db', 'data')).catch(() => undefined))?.isDirectory()
      ? path.join(base, 'db', 'data')
      : base;
    source = given ? dataDir : path.join(pluginRoot, 'db', 'data');
    for (const kind of KINDS) {
      const file = path.join(dataDir, GENERATED_FILES[kind]);
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text !== undefined) texts[kind] = { text, file };
    }
  }

  const rows: Partial<Record<GeneratedKind, PhpValue>> = {};
  for (const kind of KINDS) {
    const entry = texts[kind];
    if (!entry) continue;
    try {
      rows[kind] = parseJsonSource(entry.text).php;
    } catch (error) {
      diagnostics.push({
        severity: 'warning',
        code: 'baseline-json',
        message: `baseline ${entry.file} is not valid JSON (${(error as Error).message}); every ${kind} row starts again at versao 1`,
      });
    }
  }
  return { baseline: baselineFromRows(rows), source, diagnostics };
}
