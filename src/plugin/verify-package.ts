import { readFile, stat } from 'node:fs/promises';
import { sha256OfFile } from './sha256-file.ts';
import { PLG_EXIT } from '../protocol/exit-codes.ts';
import {
  GENERATED_FILES,
  GENERATED_FILE_NAMES,
  GENERATED_ROW_KEYS,
  isDataFileName,
  tableFromDataFile,
  type GeneratedKind,
} from './data-files.ts';
import { hasErrors, type Diagnostic } from './diagnostics.ts';
import { JsonSyntaxError, parseJsonSource } from './json-source.ts';
import { checkManifest, type Manifest } from './manifest.ts';
import { PhpMap, isPhpArray, phpEntries, type PhpValue } from './php-value.ts';
import { checksumColumn, resourceChecksum } from './resource-checksum.ts';
import { checkRows } from './table-columns.ts';
import { readZip, ZipReadError } from './zip-reader.ts';

// Is this zip installable by Conn2Flow? Manifest at the root and valid, Data.json shapes and column
// values, resource checksums matching the embedded html/css, and the .sha256 file matching the zip.

export interface VerifyResult {
  ok: boolean;
  exitCode: number;
  plugin?: { id: string; name: string; version: string };
  sha256: string;
  size: number;
  entries: number;
  rows: Record<string, number>;
  sha256File?: { path: string; matches: boolean };
  /** The publisher's signature, when the caller checked one. */
  signature?: { file: string; ok: boolean; keyId?: string; reason?: string };
  diagnostics: Diagnostic[];
}

/** The installer rejects zips below this size (plugin_process, exit 21). */
export const MIN_PACKAGE_SIZE = 128;
const HEX64 = /^[0-9a-f]{64}$/;

export async function verifyPackage(zipPath: string, sha256Path?: string): Promise<VerifyResult> {
  const diagnostics: Diagnostic[] = [];
  const info = await stat(zipPath).catch(() => undefined);
  const result: VerifyResult = {
    ok: false,
    exitCode: PLG_EXIT.ZIP_INVALID,
    sha256: '',
    size: info?.size ?? 0,
    entries: 0,
    rows: {},
    diagnostics,
  };
  if (!info?.isFile()) {
    diagnostics.push({ severity: 'error', code: 'zip-missing', message: `no such file: ${zipPath}` });
    result.exitCode = PLG_EXIT.PARAMS_OR_FILE;
    return result;
  }
  result.sha256 = await sha256OfFile(zipPath);
  if (info.size < MIN_PACKAGE_SIZE) {
    diagnostics.push({
      severity: 'error',
      code: 'zip-too-small',
      message: `${info.size} bytes: the installer rejects packages under ${MIN_PACKAGE_SIZE} bytes`,
      file: zipPath,
    });
    return result;
  }
  let zip;
  try {
    zip = await readZip(zipPath, (name) => name === 'manifest.json' || /^db\/data\/[^/]+Data\.json$/.test(name));
  } catch (error) {
    if (!(error instanceof ZipReadError)) throw error;
    diagnostics.push({ severity: 'error', code: 'zip-invalid', message: error.message, file: zipPath });
    return result;
  }
  result.entries = zip.entries.length;
  for (const entry of zip.entries) {
    if (
      /(^|\/)\.\.(\/|$)/.test(entry.name) ||
      entry.name.startsWith('/') ||
      entry.name.includes('\\') ||
      /^[a-zA-Z]:/.test(entry.name)
    ) {
      diagnostics.push({
        severity: 'error',
        code: 'zip-path',
        message: `unsafe entry name "${entry.name}": it would be written outside the plugin folder`,
        file: zipPath,
      });
    }
    if ((entry.unixMode & 0o170000) === 0o120000)
      diagnostics.push({
        severity: 'error',
        code: 'zip-symlink',
        message: `entry "${entry.name}" is a symbolic link`,
        file: zipPath,
      });
    if (entry.name !== 'manifest.json' && entry.name.endsWith('/manifest.json')) {
      diagnostics.push({
        severity: 'warning',
        code: 'nested-manifest',
        message: `"${entry.name}": the installer installs the folder of the first manifest.json it finds, which may be this one`,
        file: zipPath,
      });
    }
  }
  if (hasErrors(diagnostics)) return result;

  const manifestBytes = zip.contents.get('manifest.json');
  if (!manifestBytes) {
    diagnostics.push({
      severity: 'error',
      code: 'manifest-missing',
      message: 'no manifest.json at the zip root (files must sit at the root, not in a folder)',
      file: zipPath,
    });
    result.exitCode = PLG_EXIT.VALIDATE;
    return result;
  }
  const checked = checkManifest(manifestBytes.toString('utf8'), `${zipPath}:manifest.json`);
  diagnostics.push(...checked.diagnostics);
  if (checked.manifest) {
    const m: Manifest = checked.manifest;
    result.plugin = { id: m.id, name: m.name, version: m.version };
  }

  for (const [name, content] of [...zip.contents].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (name === 'manifest.json') continue;
    const fileName = name.slice('db/data/'.length);
    if (!isDataFileName(fileName)) continue;
    diagnostics.push(...checkDataContent(`${zipPath}:${name}`, fileName, content, result.rows));
  }
  if (hasErrors(diagnostics)) {
    result.exitCode = PLG_EXIT.VALIDATE;
    return result;
  }

  const shaFile =
    sha256Path ??
    (await stat(`${zipPath}.sha256`).then(
      () => `${zipPath}.sha256`,
      () => undefined,
    ));
  if (shaFile) {
    const text = await readFile(shaFile, 'utf8').catch(() => undefined);
    if (text === undefined) {
      diagnostics.push({ severity: 'error', code: 'sha256-missing', message: `cannot read ${shaFile}`, file: shaFile });
      result.exitCode = PLG_EXIT.PARAMS_OR_FILE;
      return result;
    }
    const expected = text.trim();
    const matches = expected === result.sha256;
    result.sha256File = { path: shaFile, matches };
    if (!matches) {
      let hint = `it holds ${JSON.stringify(expected.slice(0, 80))}, the zip's SHA-256 is ${result.sha256}`;
      if (/^[0-9a-fA-F]{64}\s+\S/.test(expected))
        hint =
          'it is in sha256sum format ("hash  name"); the installer compares the whole trimmed content and fails with exit 22: write the bare lowercase hex digest and a newline';
      else if (HEX64.test(expected.toLowerCase()) && expected !== expected.toLowerCase())
        hint = 'the digest must be lowercase: the installer compares strings exactly';
      diagnostics.push({
        severity: 'error',
        code: 'sha256-mismatch',
        message: `${shaFile} does not match the zip: ${hint}`,
        file: shaFile,
      });
      result.exitCode = PLG_EXIT.CHECKSUM;
      return result;
    }
  }
  result.ok = true;
  result.exitCode = PLG_EXIT.OK;
  return result;
}

function checkDataContent(file: string, fileName: string, content: Buffer, rows: Record<string, number>): Diagnostic[] {
  let source;
  try {
    source = parseJsonSource(content.toString('utf8'));
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    const hint =
      content.length === 0
        ? " (an empty file: Conn2Flow's generator writes one when a resource is not valid UTF-8)"
        : '';
    return [
      {
        severity: 'error',
        code: 'data-json',
        message: `${error.message}${hint}`,
        file,
        line: error.line,
        column: error.column,
      },
    ];
  }
  if (!isPhpArray(source.php))
    return [{ severity: 'error', code: 'data-json', message: 'a Data.json file must hold a JSON array of rows', file }];
  const list = phpEntries(source.php).map(([, row]) => row);
  rows[fileName] = list.length;
  const locate = (index: number, column?: string) => ({
    file,
    ...source.locate(`/${index}${column ? `/${column}` : ''}`),
  });
  const diagnostics = checkRows(tableFromDataFile(fileName), fileName, list, locate);
  if (GENERATED_FILE_NAMES.has(fileName)) {
    const kind = (Object.keys(GENERATED_FILES) as GeneratedKind[]).find((k) => GENERATED_FILES[k] === fileName)!;
    list.forEach((row, index) => {
      const shape = checkRowShape(kind, fileName, row, index, locate);
      if (shape) diagnostics.push(shape);
      if (kind !== 'variaveis') diagnostics.push(...checkResourceChecksum(fileName, row, index, locate));
    });
  }
  return diagnostics;
}

/** Rows whose keys are not the ones Conn2Flow's generator writes (the installer ignores unknown columns). */
function checkRowShape(
  kind: GeneratedKind,
  fileName: string,
  row: PhpValue,
  index: number,
  locate: (i: number, c?: string) => Pick<Diagnostic, 'file' | 'line' | 'column'>,
): Diagnostic | undefined {
  if (!(row instanceof PhpMap)) return undefined;
  const keys = [...row.entries.keys()];
  const expected = GENERATED_ROW_KEYS[kind];
  const shapes = [expected.global, expected.module];
  if (shapes.some((shape) => shape.length === keys.length && shape.every((key, i) => keys[i] === key)))
    return undefined;
  const closest = row.has('modulo') && kind === 'layouts' ? expected.module : expected.global;
  const missing = closest.filter((key) => !row.has(key));
  const unexpected = keys.filter((key) => !closest.includes(key));
  const detail = [
    missing.length ? `missing ${missing.join(', ')}` : '',
    unexpected.length ? `unexpected ${unexpected.join(', ')}` : '',
    !missing.length && !unexpected.length ? 'keys in another order' : '',
  ]
    .filter(Boolean)
    .join('; ');
  return {
    severity: 'warning',
    code: 'data-row-shape',
    message: `${fileName} row ${index + 1} is not in the shape Conn2Flow's generator writes (${detail})`,
    ...locate(index),
  };
}

function checkResourceChecksum(
  fileName: string,
  row: PhpValue,
  index: number,
  locate: (i: number, c?: string) => Pick<Diagnostic, 'file' | 'line' | 'column'>,
): Diagnostic[] {
  if (!(row instanceof PhpMap)) return [];
  const checksum = row.get('checksum');
  const where = `${fileName} row ${index + 1}${typeof row.get('id') === 'string' ? ` (id "${row.get('id')}")` : ''}`;
  if (checksum instanceof PhpMap || Array.isArray(checksum)) {
    return [
      {
        severity: 'error',
        code: 'data-checksum-type',
        message: `${where}: checksum is a JSON object; it must be a JSON-encoded string, or the installer inserts the literal text "Array"`,
        ...locate(index, 'checksum'),
      },
    ];
  }
  if (typeof checksum !== 'string') {
    return [
      {
        severity: 'warning',
        code: 'data-checksum-missing',
        message: `${where}: no checksum string`,
        ...locate(index, 'checksum'),
      },
    ];
  }
  const content = (key: string) => {
    const value = row.get(key);
    return typeof value === 'string' ? Buffer.from(value, 'utf8') : null;
  };
  const expected = checksumColumn(resourceChecksum(content('html'), content('css')));
  if (checksum !== expected) {
    return [
      {
        severity: 'error',
        code: 'data-checksum',
        message: `${where}: checksum ${checksum} does not match the embedded html/css (expected ${expected})`,
        ...locate(index, 'checksum'),
      },
    ];
  }
  return [];
}
