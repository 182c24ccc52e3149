import { lstatSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { sortByBytes } from './byte-order.ts';
import type { Diagnostic } from './diagnostics.ts';

// Walks a plugin tree and decides, for every file, whether it ships: excluded silently (build and VCS
// leftovers), refused loudly (secrets, symlinks, oversize), or packed.

/** Never shipped: the same list as Conn2Flow's release workflow, plus logs. */
export const DEFAULT_EXCLUDES = [
  '.git*',
  'node_modules/',
  '/tests/',
  '.DS_Store',
  'vendor/composer/tmp-*',
  '*.log',
  '/.c2fignore',
];

/** Replaced or removed by packing: sources of the generated Data.json, and generator debug output. */
export const PACKING_EXCLUDES = ['/resources/', '/modules/*/resources/', '/db/orphans/', '/db/data/Data.json'];

/**
 * Refused unless allowed: likely secrets, files that do not belong in a plugin, and per-folder web server and
 * PHP settings that would change how the site runs. The host agent refuses packages holding any of them.
 */
export const REFUSED = [
  '.env*',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  '/composer.json',
  '/composer.lock',
  '.htaccess',
  '.htpasswd',
  '.user.ini',
  'php.ini',
  'web.config',
];

export const DEFAULT_MAX_FILE_SIZE = 128 * 1024 * 1024;
export const DEFAULT_MAX_TOTAL_SIZE = 512 * 1024 * 1024;

export interface CollectOptions {
  /** gitignore-style patterns that may ship although REFUSED lists them (e.g. "config/.env.example"). */
  allow?: string[];
  /** Extra exclusions (gitignore syntax), on top of .c2fignore. */
  exclude?: string[];
  /** Absolute paths never to pack (the output files, when they are written inside the tree). */
  skipAbsolute?: string[];
  /** Paths relative to the root that packing replaces (e.g. the generated Data.json files). */
  replaced?: Set<string>;
  /** Whether resources/ is stripped (false when the plugin has no resources map). */
  stripResources?: boolean;
  maxFileSize?: number;
  maxTotalSize?: number;
}

export interface CollectedFile {
  /** `/`-separated path relative to the root. */
  rel: string;
  abs: string;
  size: number;
}

export interface Collected {
  files: CollectedFile[];
  /** Directories that hold shipped content or are empty but not excluded, `/`-separated, no trailing slash. */
  dirs: string[];
  excluded: number;
  totalSize: number;
  diagnostics: Diagnostic[];
}

export async function collectFiles(root: string, options: CollectOptions = {}): Promise<Collected> {
  const excluder = ignore()
    .add(DEFAULT_EXCLUDES)
    .add(options.exclude ?? []);
  const c2fignore = await readFile(path.join(root, '.c2fignore'), 'utf8').catch(() => '');
  excluder.add(c2fignore);
  const packing = ignore().add(options.stripResources === false ? ['/db/orphans/'] : PACKING_EXCLUDES);
  const refused = ignore().add(REFUSED);
  const allowed: Ignore = ignore().add(options.allow ?? []);
  const skip = new Set((options.skipAbsolute ?? []).map((p) => path.resolve(p)));
  const maxFile = options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  const maxTotal = options.maxTotalSize ?? DEFAULT_MAX_TOTAL_SIZE;

  const result: Collected = { files: [], dirs: [], excluded: 0, totalSize: 0, diagnostics: [] };
  const offenders: Diagnostic[] = [];
  const refuse = (file: string, code: string, message: string) =>
    offenders.push({ severity: 'error', code, message, file });

  // Synchronous on purpose: one lstat per file, thousands of them, is much faster without the thread pool.
  const walk = (dirRel: string) => {
    const dirAbs = path.join(root, dirRel);
    const names = sortByBytes(readdirSync(dirAbs), (name) => name);
    for (const name of names) {
      const rel = dirRel ? `${dirRel}/${name}` : name;
      const abs = path.join(root, rel);
      const info = lstatSync(abs);
      const isDir = info.isDirectory();
      const test = isDir ? `${rel}/` : rel;
      if (skip.has(abs) || excluder.ignores(test) || packing.ignores(test) || options.replaced?.has(rel)) {
        result.excluded++;
        continue;
      }
      if (/[^\x20-\x7e]/.test(name)) {
        refuse(
          rel,
          'refused-name',
          "has a non-ASCII name: extractors write such names differently (unzip ignores the zip's UTF-8 flag; file systems normalise accents), so the host agent refuses the package; rename it to ASCII",
        );
        continue;
      }
      if (refused.ignores(test) && !allowed.ignores(test)) {
        refuse(
          rel,
          'refused-file',
          `looks like a secret or a file that does not belong in a plugin; remove it, add it to .c2fignore, or allow it explicitly (--allow '${rel}')`,
        );
        continue;
      }
      if (info.isSymbolicLink()) {
        if (!allowed.ignores(test))
          refuse(
            rel,
            'refused-symlink',
            'is a symbolic link: Conn2Flow installs copy files, so a link would point outside the plugin or break; replace it with the file it points to, or exclude it',
          );
        continue;
      }
      if (isDir) {
        walk(rel);
        continue;
      }
      if (!info.isFile()) {
        refuse(rel, 'refused-special', 'is not a regular file (socket, FIFO or device)');
        continue;
      }
      if (info.size > maxFile && !allowed.ignores(test)) {
        refuse(
          rel,
          'refused-size',
          `is ${formatBytes(info.size)}, over the ${formatBytes(maxFile)} limit per file; raise the limit (--max-file-size) or exclude it`,
        );
        continue;
      }
      result.totalSize += info.size;
      result.files.push({ rel, abs, size: info.size });
      if (name === 'manifest.json' && dirRel !== '') {
        result.diagnostics.push({
          severity: 'warning',
          code: 'nested-manifest',
          message:
            "a manifest.json below the plugin root: Conn2Flow's installer installs the folder of the first manifest.json it finds, which may be this one; rename it or exclude it",
          file: rel,
        });
      }
    }
    if (dirRel) result.dirs.push(dirRel);
  };
  walk('');

  if (result.totalSize > maxTotal) {
    offenders.push({
      severity: 'error',
      code: 'refused-total-size',
      message: `the plugin holds ${formatBytes(result.totalSize)}, over the ${formatBytes(maxTotal)} limit; raise it (--max-total-size) or exclude large files`,
    });
  }
  result.diagnostics.push(...offenders);
  return result;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}
