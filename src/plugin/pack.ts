import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PLG_EXIT } from '../protocol/exit-codes.ts';
import { loadBaseline } from './baseline.ts';
import { sortByBytes } from './byte-order.ts';
import { collectFiles, type CollectOptions } from './collect-files.ts';
import { checkDataFiles } from './check-data-files.ts';
import { GENERATED_FILES, GENERATED_KINDS, type GeneratedKind } from './data-files.ts';
import { PluginError, hasErrors, type Diagnostic } from './diagnostics.ts';
import { GenerateError, emptyBaseline, generateData, type GeneratedData } from './generate-data.ts';
import { checkManifest, type Manifest } from './manifest.ts';
import { phpJsonEncodeToBuffer } from './php-json-encode.ts';
import { loadResourcesMap } from './load-resources-map.ts';
import { DEFAULT_MTIME, writeZip, type ZipEntry } from './zip-writer.ts';

export const PACKAGE_NAME = 'gestor-plugin.zip';

export interface PackOptions extends Pick<CollectOptions, 'allow' | 'exclude' | 'maxFileSize' | 'maxTotalSize'> {
  /** Output folder for gestor-plugin.zip, its .sha256 and SHA256SUMS. */
  outDir: string;
  /** A previous release's zip or folder to compute `versao` against; default the plugin's own db/data; false for none. */
  baseline?: string | false;
  /** Seconds since the epoch for every zip entry; default SOURCE_DATE_EPOCH, else 2000-01-01. */
  mtime?: number;
  onProgress?: (progress: PackProgress) => void;
}

export interface PackProgress {
  phase: 'validate' | 'generate' | 'collect' | 'zip';
  done?: number;
  total?: number;
  bytes?: number;
}

export interface PackSummary {
  plugin: { id: string; name: string; version: string };
  zip: { path: string; size: number; sha256: string; entries: number };
  sha256File: string;
  sha256SumsFile: string;
  /** Rows per generated file, and per hand-written Data.json. */
  rows: Record<string, number>;
  orphans: Record<string, Array<{ reason: string; id: string | null; language: string | null; module: string | null }>>;
  baseline: string | null;
  files: { packed: number; excluded: number; bytes: number };
  diagnostics: Diagnostic[];
  warnings: number;
}

export async function pack(pluginDir: string, options: PackOptions): Promise<PackSummary> {
  const root = path.resolve(pluginDir);
  const rootInfo = await stat(root).catch(() => undefined);
  if (!rootInfo?.isDirectory())
    throw new PluginError(
      [{ severity: 'error', code: 'plugin-dir', message: `plugin folder not found: ${pluginDir}` }],
      PLG_EXIT.PARAMS_OR_FILE,
    );
  const progress = options.onProgress ?? (() => {});
  const diagnostics: Diagnostic[] = [];
  const stop = (code: number = PLG_EXIT.VALIDATE): never => {
    throw new PluginError(diagnostics, code);
  };

  progress({ phase: 'validate' });
  const manifestText = await readFile(path.join(root, 'manifest.json'), 'utf8').catch(() => undefined);
  if (manifestText === undefined) {
    diagnostics.push({
      severity: 'error',
      code: 'manifest-missing',
      message: 'no manifest.json at the plugin root: the installer needs one with "id", "name" and "version"',
      file: 'manifest.json',
    });
    stop();
  }
  const checked = checkManifest(manifestText!);
  diagnostics.push(...checked.diagnostics);
  const manifest = checked.manifest as Manifest;

  const map = await loadResourcesMap(root, diagnostics);
  if (hasErrors(diagnostics)) stop();

  let generated: GeneratedData | undefined;
  let baselineSource: string | null = null;
  if (map) {
    progress({ phase: 'generate' });
    const loaded =
      options.baseline === false
        ? { baseline: emptyBaseline(), source: null, diagnostics: [] }
        : await loadBaseline(root, options.baseline);
    diagnostics.push(...loaded.diagnostics);
    baselineSource = loaded.source;
    try {
      generated = await generateData(root, map, loaded.baseline);
    } catch (error) {
      if (!(error instanceof GenerateError)) throw error;
      diagnostics.push(error.diagnostic);
      stop();
    }
    diagnostics.push(...generated!.diagnostics);
  }

  progress({ phase: 'collect' });
  const outDir = path.resolve(options.outDir);
  const outputs = [PACKAGE_NAME, `${PACKAGE_NAME}.sha256`, 'SHA256SUMS'].map((name) => path.join(outDir, name));
  const generatedPaths = new Set(generated ? Object.values(GENERATED_FILES).map((f) => `db/data/${f}`) : []);
  const collected = await collectFiles(root, {
    allow: options.allow,
    exclude: options.exclude,
    maxFileSize: options.maxFileSize,
    maxTotalSize: options.maxTotalSize,
    // The output folder itself, when it is inside the plugin: what was written there must not be packed.
    skipAbsolute: [...outputs, outDir],
    replaced: generatedPaths,
    stripResources: Boolean(map),
  });
  diagnostics.push(...collected.diagnostics);

  const dataCheck = await checkDataFiles(collected.files, generated);
  diagnostics.push(...dataCheck.diagnostics);
  if (hasErrors(diagnostics)) stop();

  const rows: Record<string, number> = {};
  const orphans: PackSummary['orphans'] = {};
  const generatedContent = new Map<string, Buffer>();
  if (generated) {
    for (const kind of GENERATED_KINDS) {
      rows[GENERATED_FILES[kind]] = generated.rows[kind].length;
      orphans[GENERATED_FILES[kind]] = generated.orphans[kind].map((o) => describeOrphan(o, kind));
      generatedContent.set(`db/data/${GENERATED_FILES[kind]}`, phpJsonEncodeToBuffer(generated.rows[kind]));
      generated.rows[kind] = []; // the encoded bytes are all that is needed from here on
    }
  }
  Object.assign(rows, dataCheck.rows);

  const entries = zipEntries(collected.files, collected.dirs, generatedContent);
  await mkdir(outDir, { recursive: true });
  progress({ phase: 'zip', done: 0, total: entries.length, bytes: 0 });
  const zipPath = outputs[0];
  const zip = await writeZip(zipPath, entries, {
    mtime: options.mtime ?? sourceDateEpoch() ?? DEFAULT_MTIME,
    onEntry: (done, total, bytes) => progress({ phase: 'zip', done, total, bytes }),
  });
  await writeAtomically(outputs[1], `${zip.sha256}\n`);
  await writeAtomically(outputs[2], `${zip.sha256}  ${PACKAGE_NAME}\n`);

  return {
    plugin: { id: manifest.id, name: manifest.name, version: manifest.version },
    zip: { path: zipPath, size: zip.size, sha256: zip.sha256, entries: zip.entries },
    sha256File: outputs[1],
    sha256SumsFile: outputs[2],
    rows,
    orphans,
    baseline: baselineSource,
    files: { packed: collected.files.length, excluded: collected.excluded, bytes: collected.totalSize },
    diagnostics,
    warnings: diagnostics.filter((d) => d.severity === 'warning').length,
  };
}

function zipEntries(
  files: Array<{ rel: string; abs: string; size: number }>,
  dirs: string[],
  generated: Map<string, Buffer>,
): ZipEntry[] {
  const entries: ZipEntry[] = [];
  const dirSet = new Set(dirs);
  if (generated.size) {
    dirSet.add('db');
    dirSet.add('db/data');
  }
  for (const dir of dirSet) entries.push({ name: `${dir}/` });
  for (const file of files) entries.push({ name: file.rel, source: file.abs, size: file.size });
  for (const [name, content] of generated) entries.push({ name, source: content, size: content.length });
  return sortByBytes(entries, (entry) => entry.name);
}

function describeOrphan(orphan: unknown, kind: GeneratedKind) {
  const get = (key: string) => {
    const value = (orphan as { get?: (k: string) => unknown }).get?.(key);
    if (value == null) return null;
    return typeof value === 'string' ? value : String(value);
  };
  return {
    reason: get('_motivo') ?? '',
    id: get('id'),
    language: kind === 'variaveis' ? get('linguagem_codigo') : get('language'),
    module: get('modulo') ?? get('module'),
  };
}

function sourceDateEpoch(): number | undefined {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw))
    throw new PluginError(
      [
        {
          severity: 'error',
          code: 'source-date-epoch',
          message: `SOURCE_DATE_EPOCH must be whole seconds since 1970, found "${raw}"`,
        },
      ],
      PLG_EXIT.PARAMS_OR_FILE,
    );
  return Number(raw);
}

export async function writeAtomically(file: string, content: string | Buffer): Promise<void> {
  const temporary = `${file}.partial-${process.pid}`;
  await writeFile(temporary, content);
  await rename(temporary, file);
}
