import { readFileSync, readdirSync, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import type { Diagnostic } from './diagnostics.ts';
import type { GeneratedKind } from './data-files.ts';
import { JsonSyntaxError, parseJsonSource, type Position } from './json-source.ts';
import {
  PhpMap,
  coalesce,
  field,
  isPhpArray,
  phpEntries,
  phpIntCast,
  phpLooseEquals,
  phpToString,
  phpTruthy,
  type PhpValue,
} from './php-value.ts';
import { checksumColumn, resourceChecksum, type ResourceChecksum } from './resource-checksum.ts';
import type { ResourcesMap, ResourceType } from './resources-map.ts';
import { sortByBytes } from './byte-order.ts';

// A port of Conn2Flow's scripts/resources/update-data-resources-plugin.php. Same input, same rows, same
// order, same keys; see README "Differences from Conn2Flow's generator" for the two deliberate changes
// (invalid UTF-8 is an error, and module variables do not produce spurious orphans).
// Files are read synchronously: thousands of small reads are several times faster that way than through
// the thread pool one await at a time.

/** Where a generated row came from, so later checks can point at the source line (computed on demand). */
export interface RowOrigin {
  file: string;
  position: () => Position;
}

export interface GeneratedData {
  rows: Record<GeneratedKind, PhpMap[]>;
  origins: Record<GeneratedKind, RowOrigin[]>;
  orphans: Record<GeneratedKind, PhpValue[]>;
  diagnostics: Diagnostic[];
  /** Files read to produce the rows (relative paths), e.g. for the packer's progress. */
  resourceFiles: number;
}

/** Rows from a previous db/data, keyed the way the generator looks them up for `versao`. */
export type Baseline = Record<'layouts' | 'paginas' | 'componentes', Map<string, PhpValue>>;

export function emptyBaseline(): Baseline {
  return { layouts: new Map(), paginas: new Map(), componentes: new Map() };
}

/** Builds the `versao` lookup from the previous rows of each generated file (the generator's "existing"). */
export function baselineFromRows(rows: Partial<Record<GeneratedKind, PhpValue>>): Baseline {
  const baseline = emptyBaseline();
  for (const kind of ['layouts', 'componentes', 'paginas'] as const) {
    const list = rows[kind];
    if (!isPhpArray(list)) continue;
    for (const [, row] of phpEntries(list)) {
      const language = field(row, 'language');
      const id = field(row, 'id');
      if (language === undefined || language === null || id === undefined || id === null) continue;
      const key =
        kind === 'paginas'
          ? `${phpToString(language)}|${phpToString(coalesce(row, ['modulo'], ''))}|${phpToString(id)}`
          : `${phpToString(language)}|${phpToString(id)}`;
      baseline[kind].set(key, row);
    }
  }
  return baseline;
}

export class GenerateError extends Error {
  readonly diagnostic: Diagnostic;
  constructor(diagnostic: Diagnostic) {
    super(diagnostic.message);
    this.diagnostic = diagnostic;
  }
}

const RESOURCE_DIR: Record<Exclude<ResourceType, 'variables'>, string> = {
  layouts: 'layouts',
  pages: 'pages',
  components: 'components',
};

interface ListSource {
  file: string;
  items: Array<{ item: PhpValue; at: () => Position }>;
}

export async function generateData(root: string, map: ResourcesMap, baseline: Baseline): Promise<GeneratedData> {
  const out: GeneratedData = {
    rows: { layouts: [], paginas: [], componentes: [], variaveis: [] },
    origins: { layouts: [], paginas: [], componentes: [], variaveis: [] },
    orphans: { layouts: [], paginas: [], componentes: [], variaveis: [] },
    diagnostics: [],
    resourceFiles: 0,
  };
  const idx = {
    layouts: new Set<string>(),
    componentes: new Set<string>(),
    paginasId: new Set<string>(),
    paginasPath: new Set<string>(),
    variaveis: new Map<string, string[]>(),
  };
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');

  const versaoChecksum = (kind: 'layouts' | 'paginas' | 'componentes', key: string, sum: ResourceChecksum): bigint => {
    const old = baseline[kind].get(key);
    if (old === undefined) return 1n;
    let oldChecksum: PhpValue | undefined = field(old, 'checksum');
    if (typeof oldChecksum === 'string') {
      try {
        const decoded = parseJsonSource(oldChecksum).php;
        if (isPhpArray(decoded)) oldChecksum = decoded;
      } catch {
        // not JSON: compared as a string below, which never equals, so versao goes up
      }
    }
    const oldVersao = phpIntCast(coalesce(old, ['versao'], 1n));
    const equal =
      isPhpArray(oldChecksum) &&
      (['html', 'css', 'combined'] as const).every((k) => phpLooseEquals(field(oldChecksum, k) ?? null, sum[k]));
    return equal ? oldVersao : oldVersao + 1n;
  };

  const warnedLineEndings = new Set<string>();
  const readContent = (file: string): Buffer | null => {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EISDIR')
        return null;
      throw error;
    }
    out.resourceFiles++;
    if (!isUtf8(data)) {
      throw new GenerateError({
        severity: 'error',
        code: 'resource-utf8',
        message:
          "not valid UTF-8: Conn2Flow's generator would silently write an empty Data.json for the whole table; re-save the file as UTF-8",
        file: rel(file),
      });
    }
    if (data.includes('\r\n') && !warnedLineEndings.has(file)) {
      warnedLineEndings.add(file);
      const lf = /(?<!\r)\n/.test(data.toString('latin1'));
      out.diagnostics.push({
        severity: 'warning',
        code: 'resource-line-endings',
        message: `${lf ? 'mixed LF and CRLF' : 'CRLF'} line endings: the checksum (and so versao) differs between Windows and Linux checkouts; add "*.html text eol=lf" and "*.css text eol=lf" to .gitattributes`,
        file: rel(file),
      });
    }
    return data;
  };

  // Contents stay as bytes (valid UTF-8, checked on read) all the way into the encoded Data.json.
  const readHtmlCss = (dir: string, id: string) => {
    const html = readContent(path.join(dir, id, `${id}.html`));
    const css = readContent(path.join(dir, id, `${id}.css`));
    return { html, css, sum: resourceChecksum(html, css) };
  };

  const readList = (file: string, required: boolean): ListSource => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (required)
        out.diagnostics.push({
          severity: 'warning',
          code: 'resources-list-missing',
          message: 'named in the resources map but missing: no resources of this type are generated for this language',
          file: rel(file),
        });
      return { file: rel(file), items: [] };
    }
    return listFrom(rel(file), text, '');
  };

  const listFrom = (file: string, text: string, pointer: string, source = parseOrThrow(file, text)): ListSource => {
    const value = pointer ? pointerGet(source.php, pointer) : source.php;
    if (value === undefined || value === null) return { file, items: [] };
    if (!isPhpArray(value)) {
      throw new GenerateError({
        severity: 'error',
        code: 'resources-list-type',
        message: `${pointer || 'the file'} must be a JSON array of resources`,
        file,
        ...source.locate(pointer),
      });
    }
    return {
      file,
      items: phpEntries(value).map(([key, item]) => {
        const at = () => source.locate(`${pointer}/${key}`);
        if (!isPhpArray(item))
          throw new GenerateError({
            severity: 'error',
            code: 'resource-type',
            message: 'each resource must be a JSON object',
            file,
            ...at(),
          });
        return { item, at };
      }),
    };
  };

  const requireString = (value: PhpValue, what: string, file: string, at: () => Position): string => {
    if (typeof value !== 'string') {
      throw new GenerateError({
        severity: 'error',
        code: 'resource-field-type',
        message: `"${what}" must be a string (Conn2Flow's generator crashes with a TypeError on this)`,
        file,
        ...at(),
      });
    }
    return value;
  };

  const orphan = (kind: GeneratedKind, item: PhpValue, extra: Array<[string, PhpValue]>) => {
    out.orphans[kind].push(
      (item as PhpMap | PhpValue[]) instanceof PhpMap
        ? (item as PhpMap).union(extra)
        : PhpMap.of(phpEntries(item as PhpValue[])).union(extra),
    );
  };
  const emit = (kind: GeneratedKind, row: Array<[string, PhpValue]>, file: string, at: () => Position) => {
    out.rows[kind].push(PhpMap.of(row));
    out.origins[kind].push({ file, position: at });
  };

  const resourcesDir = path.join(root, 'resources');

  // ===== Global resources, per language in map order: layouts, components, pages, variables.
  for (const language of map.withData) {
    const lang = language.code;
    const langDir = path.join(resourcesDir, lang);
    // A resource without an id, or with an id this language already has, is set aside as Conn2Flow does.
    const claimId = (kind: 'layouts' | 'componentes', item: PhpValue, id: PhpValue): string | undefined => {
      if (!phpTruthy(id))
        return void orphan(kind, item, [
          ['_motivo', 'sem id'],
          ['language', lang],
        ]);
      const key = `${lang}|${phpToString(id)}`;
      if (idx[kind].has(key))
        return void orphan(kind, item, [
          ['_motivo', 'duplicidade id'],
          ['language', lang],
        ]);
      idx[kind].add(key);
      return key;
    };

    if (language.data.layouts) {
      const list = readList(path.join(langDir, language.data.layouts), true);
      for (const { item, at } of list.items) {
        const id = coalesce(item, ['id']);
        const key = claimId('layouts', item, id);
        if (key === undefined) continue;
        const { html, css, sum } = readHtmlCss(
          path.join(langDir, RESOURCE_DIR.layouts),
          requireString(id, 'id', list.file, at),
        );
        emit(
          'layouts',
          [
            ['nome', coalesce(item, ['name', 'nome'], id)],
            ['id', id],
            ['language', lang],
            ['html', html],
            ['css', css],
            ['framework_css', coalesce(item, ['framework_css'])],
            ['status', coalesce(item, ['status'], 'A')],
            ['versao', versaoChecksum('layouts', key, sum)],
            ['file_version', coalesce(item, ['version'])],
            ['checksum', checksumColumn(sum)],
          ],
          list.file,
          at,
        );
      }
    }

    if (language.data.components) {
      const list = readList(path.join(langDir, language.data.components), true);
      for (const { item, at } of list.items) {
        const id = coalesce(item, ['id']);
        const key = claimId('componentes', item, id);
        if (key === undefined) continue;
        const { html, css, sum } = readHtmlCss(
          path.join(langDir, RESOURCE_DIR.components),
          requireString(id, 'id', list.file, at),
        );
        emit(
          'componentes',
          [
            ['nome', coalesce(item, ['name', 'nome'], id)],
            ['id', id],
            ['language', lang],
            ['modulo', coalesce(item, ['module', 'modulo'])],
            ['html', html],
            ['css', css],
            ['framework_css', coalesce(item, ['framework_css'])],
            ['status', coalesce(item, ['status'], 'A')],
            ['versao', versaoChecksum('componentes', key, sum)],
            ['file_version', coalesce(item, ['version'])],
            ['checksum', checksumColumn(sum)],
          ],
          list.file,
          at,
        );
      }
    }

    if (language.data.pages) {
      const list = readList(path.join(langDir, language.data.pages), true);
      for (const { item, at } of list.items) {
        const id = coalesce(item, ['id']);
        if (!phpTruthy(id)) {
          orphan('paginas', item, [
            ['_motivo', 'sem id'],
            ['language', lang],
          ]);
          continue;
        }
        const idText = requireString(id, 'id', list.file, at);
        const mod = coalesce(item, ['module', 'modulo']);
        const pagePath = requireString(coalesce(item, ['path', 'caminho'], `${idText}/`), 'path', list.file, at);
        const kId = `${lang}|${phpToString(mod)}|${idText}`;
        if (idx.paginasId.has(kId)) {
          orphan('paginas', item, [
            ['_motivo', 'duplicidade id'],
            ['language', lang],
          ]);
          continue;
        }
        const kPath = `${lang}|${phpLower(trimSlashes(pagePath))}`;
        if (idx.paginasPath.has(kPath)) {
          orphan('paginas', item, [
            ['_motivo', 'duplicidade caminho'],
            ['language', lang],
          ]);
          continue;
        }
        idx.paginasId.add(kId);
        idx.paginasPath.add(kPath);
        const { html, css, sum } = readHtmlCss(path.join(langDir, RESOURCE_DIR.pages), idText);
        emit(
          'paginas',
          [
            ['layout_id', coalesce(item, ['layout'])],
            ['nome', coalesce(item, ['name', 'nome'], id)],
            ['id', id],
            ['language', lang],
            ['caminho', pagePath],
            ['tipo', coalesce(item, ['type', 'tipo'])],
            ['modulo', mod],
            ['opcao', coalesce(item, ['option', 'opcao'])],
            ['raiz', coalesce(item, ['root', 'raiz'])],
            ['sem_permissao', coalesce(item, ['without_permission', 'sem_permissao'])],
            ['html', html],
            ['css', css],
            ['framework_css', coalesce(item, ['framework_css'])],
            ['status', coalesce(item, ['status'], 'A')],
            ['versao', versaoChecksum('paginas', kId, sum)],
            ['file_version', coalesce(item, ['version'])],
            ['checksum', checksumColumn(sum)],
          ],
          list.file,
          at,
        );
      }
    }

    if (language.data.variables) {
      const list = readList(path.join(langDir, language.data.variables), true);
      for (const { item, at } of list.items) {
        const id = coalesce(item, ['id']);
        if (!phpTruthy(id)) {
          orphan('variaveis', item, [
            ['_motivo', 'sem id'],
            ['linguagem_codigo', lang],
          ]);
          continue;
        }
        const mod = coalesce(item, ['module', 'modulo'], '');
        const group = coalesce(item, ['group', 'grupo']);
        const reason = variableConflict(idx.variaveis, `${lang}|${phpToString(mod)}|${phpToString(id)}`, group);
        if (reason) {
          orphan('variaveis', item, [
            ['_motivo', reason],
            ['linguagem_codigo', lang],
          ]);
          continue;
        }
        emit(
          'variaveis',
          [
            ['linguagem_codigo', lang],
            ['modulo', mod !== '' ? mod : null],
            ['id', id],
            ['valor', coalesce(item, ['value', 'valor'])],
            ['tipo', coalesce(item, ['type', 'tipo'])],
            ['grupo', group],
            ['descricao', coalesce(item, ['description', 'descricao'])],
          ],
          list.file,
          at,
        );
      }
    }
  }

  // ===== Modules: modules/<modId>/<modId>.json, module dirs in byte order, then languages in map order.
  for (const modId of moduleDirs(path.join(root, 'modules'))) {
    const modDir = path.join(root, 'modules', modId);
    const jsonFile = rel(path.join(modDir, `${modId}.json`));
    let jsonText: string;
    try {
      jsonText = readFileSync(path.join(root, jsonFile), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const source = parseOrThrow(jsonFile, jsonText);
    const resources = field(source.php, 'resources');
    if (!phpTruthy(resources)) continue;

    for (const lang of map.languages) {
      const res = field(resources, lang);
      if (!phpTruthy(res)) continue;
      const base = `/resources/${escapePointer(lang)}`;
      for (const type of ['layouts', 'components', 'pages'] as const) {
        const list = listFrom(jsonFile, jsonText, `${base}/${type}`, source);
        for (const { item, at } of list.items) {
          const id = coalesce(item, ['id']);
          if (!phpTruthy(id)) continue;
          const idText = requireString(id, 'id', jsonFile, at);
          const { html, css, sum } = readHtmlCss(path.join(modDir, 'resources', lang, RESOURCE_DIR[type]), idText);
          const common = (kind: 'layouts' | 'componentes', key: string): Array<[string, PhpValue]> => [
            ['nome', coalesce(item, ['name'], id)],
            ['id', id],
            ['language', lang],
            ['modulo', modId],
            ['html', html],
            ['css', css],
            ['framework_css', coalesce(item, ['framework_css'])],
            ['status', coalesce(item, ['status'], 'A')],
            ['versao', versaoChecksum(kind, key, sum)],
            ['file_version', coalesce(item, ['version'])],
            ['checksum', checksumColumn(sum)],
          ];
          if (type === 'layouts' || type === 'components') {
            const kind = type === 'layouts' ? 'layouts' : 'componentes';
            const key = `${lang}|${idText}`;
            if (idx[kind].has(key)) {
              orphan(kind, item, [
                ['_motivo', 'duplicidade id'],
                ['language', lang],
                ['modulo', modId],
              ]);
              continue;
            }
            idx[kind].add(key);
            emit(kind, common(kind, key), jsonFile, at);
            continue;
          }
          const pagePath = requireString(coalesce(item, ['path'], `${idText}/`), 'path', jsonFile, at);
          const kId = `${lang}|${modId}|${idText}`;
          if (idx.paginasId.has(kId)) {
            orphan('paginas', item, [
              ['_motivo', 'duplicidade id'],
              ['language', lang],
              ['modulo', modId],
            ]);
            continue;
          }
          const kPath = `${lang}|${phpLower(trimSlashes(pagePath))}`;
          if (idx.paginasPath.has(kPath)) {
            orphan('paginas', item, [
              ['_motivo', 'duplicidade caminho'],
              ['language', lang],
              ['modulo', modId],
            ]);
            continue;
          }
          idx.paginasId.add(kId);
          idx.paginasPath.add(kPath);
          emit(
            'paginas',
            [
              ['layout_id', coalesce(item, ['layout'])],
              ['nome', coalesce(item, ['name'], id)],
              ['id', id],
              ['language', lang],
              ['caminho', pagePath],
              ['tipo', coalesce(item, ['type'])],
              ['modulo', modId],
              ['opcao', coalesce(item, ['option'])],
              ['raiz', coalesce(item, ['root'])],
              ['sem_permissao', coalesce(item, ['without_permission'])],
              ['html', html],
              ['css', css],
              ['framework_css', coalesce(item, ['framework_css'])],
              ['status', coalesce(item, ['status'], 'A')],
              ['versao', versaoChecksum('paginas', kId, sum)],
              ['file_version', coalesce(item, ['version'])],
              ['checksum', checksumColumn(sum)],
            ],
            jsonFile,
            at,
          );
        }
      }
      // Conn2Flow runs this loop once per type above (a nesting bug), which adds two spurious orphans per
      // module variable; running it once gives the same rows without them.
      const variables = listFrom(jsonFile, jsonText, `${base}/variables`, source);
      for (const { item, at } of variables.items) {
        const id = coalesce(item, ['id']);
        if (!phpTruthy(id)) continue;
        const group = coalesce(item, ['group']);
        const reason = variableConflict(idx.variaveis, `${lang}|${modId}|${phpToString(id)}`, group);
        if (reason) {
          orphan('variaveis', item, [
            ['_motivo', reason],
            ['linguagem_codigo', lang],
            ['modulo', modId],
          ]);
          continue;
        }
        emit(
          'variaveis',
          [
            ['linguagem_codigo', lang],
            ['modulo', modId],
            ['id', id],
            ['valor', coalesce(item, ['value'])],
            ['tipo', coalesce(item, ['type'])],
            ['grupo', group],
            ['descricao', coalesce(item, ['description'])],
          ],
          jsonFile,
          at,
        );
      }
    }
  }
  return out;
}

/** The generator's variable uniqueness rule: returns the orphan reason, or registers the variable. */
function variableConflict(index: Map<string, string[]>, base: string, group: PhpValue): string | undefined {
  const groups = index.get(base) ?? [];
  if (group === null || group === '') {
    if (groups.length > 0) return 'duplicidade sem group';
  } else if (groups.some((g) => g === group)) {
    return 'duplicidade group repetido';
  }
  groups.push(group === null ? '' : (group as string));
  index.set(base, groups);
  return undefined;
}

/** PHP's trim($s, '/'). */
function trimSlashes(value: string): string {
  return value.replace(/^\/+|\/+$/g, '');
}

/** PHP's strtolower(): ASCII only since PHP 8.2. */
function phpLower(value: string): string {
  return value.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function pointerGet(value: PhpValue, pointer: string): PhpValue | undefined {
  let current: PhpValue | undefined = value;
  for (const segment of pointer.slice(1).split('/'))
    current = field(current, segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  return current;
}

function parseOrThrow(file: string, text: string) {
  try {
    return parseJsonSource(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new GenerateError({
      severity: 'error',
      code: 'resources-json',
      message: `${error.message} (Conn2Flow's generator would silently treat this file as empty)`,
      file,
      line: error.line,
      column: error.column,
    });
  }
}

/** glob("modules/*", GLOB_ONLYDIR): visible directories, sorted by bytes. */
function moduleDirs(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw error;
  }
  const dirs: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    if (statSync(path.join(dir, name), { throwIfNoEntry: false })?.isDirectory()) dirs.push(name);
  }
  return sortByBytes(dirs, (name) => name);
}
