import { readFile } from 'node:fs/promises';
import type { Diagnostic } from './diagnostics.ts';
import { GENERATED_FILES, GENERATED_KINDS, isDataFileName, tableFromDataFile } from './data-files.ts';
import type { GeneratedData } from './generate-data.ts';
import { JsonSyntaxError, parseJsonSource } from './json-source.ts';
import { PhpMap, isPhpArray, phpEntries } from './php-value.ts';
import { checkRows } from './table-columns.ts';

// Checks every db/data/*Data.json that will ship: generated rows (pointing back at their source lines) and
// hand-written files, which ship byte for byte after a JSON and column check.

export interface DataCheck {
  diagnostics: Diagnostic[];
  /** Rows per hand-written file. */
  rows: Record<string, number>;
}

export async function checkDataFiles(
  files: ReadonlyArray<{ rel: string; abs: string }>,
  generated: GeneratedData | undefined,
): Promise<DataCheck> {
  const result: DataCheck = { diagnostics: [], rows: {} };
  if (generated) {
    for (const kind of GENERATED_KINDS) {
      const origins = generated.origins[kind];
      result.diagnostics.push(
        ...checkRows(kind, GENERATED_FILES[kind], generated.rows[kind], (i) => ({
          file: origins[i].file,
          ...origins[i].position(),
        })),
      );
    }
  }
  for (const file of files) {
    const name = file.rel.slice('db/data/'.length);
    if (!file.rel.startsWith('db/data/') || name.includes('/') || !isDataFileName(name)) continue;
    result.diagnostics.push(...checkHandWritten(file.rel, name, await readFile(file.abs, 'utf8'), result));
  }
  return result;
}

function checkHandWritten(rel: string, name: string, text: string, result: DataCheck): Diagnostic[] {
  let source;
  try {
    source = parseJsonSource(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return [
      {
        severity: 'error',
        code: 'data-json',
        message: `${error.message}: the installer cannot read this file`,
        file: rel,
        line: error.line,
        column: error.column,
      },
    ];
  }
  if (!isPhpArray(source.php)) {
    return [
      {
        severity: 'error',
        code: 'data-json',
        message: 'a Data.json file must hold a JSON array of rows',
        file: rel,
        line: 1,
        column: 1,
      },
    ];
  }
  const rows = phpEntries(source.php).map(([, row]) => row);
  result.rows[name] = rows.length;
  const table = tableFromDataFile(name);
  const locate = (index: number, column?: string) => ({
    file: rel,
    ...source.locate(`/${index}${column ? `/${column}` : ''}`),
  });
  const diagnostics = checkRows(table, name, rows, locate);
  if (table === 'modulos') {
    rows.forEach((row, index) => {
      const language = row instanceof PhpMap ? row.get('language') : undefined;
      if (language === undefined || language === null || language === '') {
        diagnostics.push({
          severity: 'warning',
          code: 'modulos-language',
          message: `modulos row ${index + 1} has no "language": the installer silently skips it (SKIP_INVALID_NATURAL_KEY)`,
          ...locate(index),
        });
      }
    });
  }
  return diagnostics;
}
