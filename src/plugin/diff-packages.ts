import { isDataFileName, tableFromDataFile } from './data-files.ts';
import { parseJsonSource } from './json-source.ts';
import { phpJsonEncode } from './php-json-encode.ts';
import { PhpMap, isPhpArray, phpEntries, phpToString, type PhpValue } from './php-value.ts';
import { readZip, type ZipContents } from './zip-reader.ts';

// What changed between two packages: manifest fields, rows per Data.json table (by the installer's natural
// key), and files.

export interface ValueChange {
  key: string;
  from: unknown;
  to: unknown;
}

export interface TableDiff {
  added: string[];
  changed: Array<{ key: string; fields: string[] }>;
  removed: string[];
}

export interface PackageDiff {
  manifest: ValueChange[];
  tables: Record<string, TableDiff>;
  files: { added: string[]; changed: string[]; removed: string[] };
}

const wanted = (name: string) => name === 'manifest.json' || /^db\/data\/[^/]+Data\.json$/.test(name);

export async function diffPackages(oldZip: string, newZip: string): Promise<PackageDiff> {
  const [before, after] = await Promise.all([readZip(oldZip, wanted), readZip(newZip, wanted)]);
  return {
    manifest: diffManifest(before, after),
    tables: diffTables(before, after),
    files: diffFiles(before, after),
  };
}

function parsed(zip: ZipContents, name: string): PhpValue | undefined {
  const content = zip.contents.get(name);
  if (!content) return undefined;
  try {
    return parseJsonSource(content.toString('utf8')).php;
  } catch {
    return undefined;
  }
}

function diffManifest(before: ZipContents, after: ZipContents): ValueChange[] {
  const a = parsed(before, 'manifest.json');
  const b = parsed(after, 'manifest.json');
  const keys = new Set([
    ...(a instanceof PhpMap ? a.entries.keys() : []),
    ...(b instanceof PhpMap ? b.entries.keys() : []),
  ]);
  const changes: ValueChange[] = [];
  for (const key of keys) {
    const from = a instanceof PhpMap ? a.get(key) : undefined;
    const to = b instanceof PhpMap ? b.get(key) : undefined;
    const encode = (v: PhpValue | undefined) => (v === undefined ? undefined : phpJsonEncode(v, false));
    if (encode(from) !== encode(to))
      changes.push({
        key,
        from: from === undefined ? null : JSON.parse(encode(from)!),
        to: to === undefined ? null : JSON.parse(encode(to)!),
      });
  }
  return changes;
}

/** The installer's natural key per table (sincronizarTabela), without the plugin part. */
function naturalKey(table: string, row: PhpValue): string {
  const get = (k: string) => (row instanceof PhpMap ? phpToString(row.get(k) ?? null) : '');
  switch (table) {
    case 'layouts':
    case 'componentes':
    case 'paginas':
      return `${get('language').toLowerCase()}|${get('modulo')}|${get('id')}`;
    case 'variaveis':
      return `${get('linguagem_codigo') || get('language')}|${get('modulo')}|${get('grupo')}|${get('id')}`;
    case 'usuarios_perfis_modulos':
      return `${get('perfil').toLowerCase()}|${get('modulo').toLowerCase()}`;
    default:
      return row instanceof PhpMap && row.has('language') ? `${get('language')}|${get('id')}` : get('id');
  }
}

function rowsByKey(zip: ZipContents, name: string, table: string): Map<string, PhpMap> {
  const list = parsed(zip, name);
  const rows = new Map<string, PhpMap>();
  if (!isPhpArray(list)) return rows;
  for (const [, row] of phpEntries(list)) if (row instanceof PhpMap) rows.set(naturalKey(table, row), row);
  return rows;
}

function diffTables(before: ZipContents, after: ZipContents): Record<string, TableDiff> {
  const names = new Set(
    [...before.contents.keys(), ...after.contents.keys()].filter(
      (n) => isDataFileName(n.slice('db/data/'.length)) && n.startsWith('db/data/'),
    ),
  );
  const tables: Record<string, TableDiff> = {};
  for (const name of [...names].sort()) {
    const table = tableFromDataFile(name.slice('db/data/'.length));
    const a = rowsByKey(before, name, table);
    const b = rowsByKey(after, name, table);
    const diff: TableDiff = { added: [], changed: [], removed: [] };
    for (const [key, row] of b) {
      const old = a.get(key);
      if (!old) {
        diff.added.push(key);
        continue;
      }
      const fields = [...new Set([...old.entries.keys(), ...row.entries.keys()])].filter(
        (f) => phpJsonEncode(old.get(f) ?? null, false) !== phpJsonEncode(row.get(f) ?? null, false),
      );
      if (fields.length) diff.changed.push({ key, fields });
    }
    for (const key of a.keys()) if (!b.has(key)) diff.removed.push(key);
    if (diff.added.length || diff.changed.length || diff.removed.length) tables[table] = diff;
  }
  return tables;
}

function diffFiles(before: ZipContents, after: ZipContents): PackageDiff['files'] {
  const a = new Map(before.entries.filter((e) => !e.isDirectory).map((e) => [e.name, e]));
  const b = new Map(after.entries.filter((e) => !e.isDirectory).map((e) => [e.name, e]));
  const files: PackageDiff['files'] = { added: [], changed: [], removed: [] };
  for (const [name, entry] of b) {
    const old = a.get(name);
    if (!old) files.added.push(name);
    else if (old.crc32 !== entry.crc32 || old.size !== entry.size) files.changed.push(name);
  }
  for (const name of a.keys()) if (!b.has(name)) files.removed.push(name);
  return files;
}
