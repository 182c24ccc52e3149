import { COMPATIBILITY_BOUND, type Compatibility } from '../protocol/compatibility.ts';
import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import ignore from 'ignore';
import { PLG_EXIT } from '../protocol/exit-codes.ts';
import { REFUSED } from './collect-files.ts';
import { MIN_PACKAGE_SIZE } from './verify-package.ts';
import { readZipDirectory, ZipStructureError, type DirectoryEntry } from './zip-directory.ts';

// Inspects a downloaded package before any installer sees it, judging what extractors will write rather than
// what a header says: the zip's structure is read byte by byte (zip-directory.ts: every name source agrees,
// entries tile the file), names are checked as raw bytes and compared after the normalisations file systems
// and extractors apply, anything but files and folders is refused whatever system made the zip, files the
// packer refuses are refused here too (a package may come from anywhere), and every entry is inflated and its
// real size and CRC-32 compared with the headers. Conn2Flow ignores extractTo's result, so a zip that lies
// about itself must be stopped here rather than half-extracted on a live site.

export interface InspectLimits {
  maxEntries: number;
  maxTotalBytes: number;
  /** Uncompressed/compressed, for the whole package and for any entry above 1 MiB. */
  maxRatio: number;
}

export const DEFAULT_INSPECT_LIMITS: InspectLimits = {
  maxEntries: 20_000,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxRatio: 200,
};

/** A manifest is a few hundred bytes; anything this big is not one. */
export const MAX_MANIFEST_BYTES = 256 * 1024;

/** Files no host installs from a package: the packer's list, examples of settings excepted. */
const HOST_REFUSED = [...REFUSED, '!.env.example', '!.env.sample', '!.env.dist'];

/** What the host reads of a package's manifest.json. */
export interface InspectedManifest {
  id: string;
  name: string;
  version: string;
  /** The Conn2Flow versions it is written for. */
  compatibility?: Compatibility;
  /** Paths inside the plugin's folder, run after an install (Conn2Flow never runs them). */
  postInstallScripts?: string[];
}

export type Inspection =
  | { ok: true; manifest: InspectedManifest; entries: number; totalBytes: number; names: string[] }
  | { ok: false; exitCode: number; reason: string };

const RATIO_FLOOR = 1024 * 1024;
const YIELD_BYTES = 8 * 1024 * 1024;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

class Refusal extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}
const zipInvalid = (reason: string) => new Refusal(PLG_EXIT.ZIP_INVALID, reason);

/** Why an entry name is unsafe to extract, or undefined. */
export function unsafeName(raw: Buffer, utf8Flag = true): string | undefined {
  if (raw.length === 0) return 'an entry has an empty name';
  const name = raw.toString('utf8');
  const shown = JSON.stringify(name);
  if (raw.includes(0x5c)) return `entry ${shown} contains a backslash (a Windows path separator)`;
  if ([...raw].some((byte) => byte < 0x20 || byte === 0x7f)) return `entry ${shown} contains control characters`;
  if (!utf8Flag && [...raw].some((byte) => byte >= 0x80))
    return `entry ${shown} has non-ASCII bytes without the UTF-8 flag (extractors would read it as CP437, each differently)`;
  if (name.includes('\uFFFD')) return `entry ${shown} is not valid UTF-8`;
  // PHP's ZipArchive writes a UTF-8 name's bytes as they are; Info-ZIP unzip 6.0 (Debian's) ignores the UTF-8
  // flag and writes them as CP437; file systems may normalise them (NFC/NFD). What lands on disk would not be
  // what was inspected.
  if ([...raw].some((byte) => byte >= 0x80))
    return `entry ${shown} has a non-ASCII name: extractors write such names differently (unzip 6.0 ignores the UTF-8 flag), so rename it to ASCII`;
  if (name.startsWith('/')) return `entry ${shown} is an absolute path`;
  if (/^[A-Za-z]:/.test(name)) return `entry ${shown} starts with a drive letter`;
  const parts = name.replace(/\/$/, '').split('/');
  if (parts.some((part) => part === '..')) return `entry ${shown} climbs out of the plugin folder (..)`;
  if (parts.some((part) => part === '.' || part === ''))
    return `entry ${shown} has an empty or "." path segment (extractors write it where another name would go)`;
  return undefined;
}

/** The path a file system may store a name as: Unicode NFC, any letter case (some file systems merge both). */
const foldKey = (name: string) => name.replace(/\/$/, '').normalize('NFC').toLowerCase();

/** Checks a package; `expected` is what the job says it is (id and version must match the manifest). */
export async function inspectPackage(
  zipPath: string,
  expected: { id: string; version: string } | null,
  limits: InspectLimits = DEFAULT_INSPECT_LIMITS,
): Promise<Inspection> {
  try {
    const size = (await stat(zipPath)).size;
    if (size < MIN_PACKAGE_SIZE)
      throw zipInvalid(`${size} bytes: Conn2Flow rejects packages under ${MIN_PACKAGE_SIZE} bytes`);
    const { manifest, names, totalBytes } = await readEntries(zipPath, size, limits);
    if (!manifest) throw new Refusal(PLG_EXIT.VALIDATE, 'no manifest.json at the zip root');
    const parsed = parseManifest(manifest, names);
    if (expected && parsed.id !== expected.id)
      throw new Refusal(PLG_EXIT.VALIDATE, `manifest.json says id "${parsed.id}", the job is for "${expected.id}"`);
    if (expected && parsed.version !== expected.version)
      throw new Refusal(
        PLG_EXIT.VALIDATE,
        `manifest.json says version ${parsed.version}, the job is for ${expected.version}`,
      );
    return { ok: true, manifest: parsed, entries: names.length, totalBytes, names };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, exitCode: error.exitCode, reason: error.message };
    if (error instanceof ZipStructureError) return { ok: false, exitCode: PLG_EXIT.ZIP_INVALID, reason: error.message };
    throw error;
  }
}

function parseManifest(bytes: Buffer, names: readonly string[]): InspectedManifest {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Refusal(PLG_EXIT.VALIDATE, `manifest.json is not JSON: ${(error as Error).message}`);
  }
  const m = value as Record<string, unknown>;
  if (
    typeof m?.id !== 'string' ||
    typeof m.name !== 'string' ||
    typeof m.version !== 'string' ||
    !/^\d+\.\d+\.\d+$/.test(m.version)
  ) {
    throw new Refusal(PLG_EXIT.VALIDATE, 'manifest.json needs string "id", "name" and an x.y.z "version"');
  }
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    ...compatibilityOf(m.compatibility),
    ...postInstallScriptsOf(m.post_install_scripts, names),
  };
}

function compatibilityOf(value: unknown): Pick<InspectedManifest, 'compatibility'> {
  if (value === undefined || value === null) return {};
  const c = value as Record<string, unknown>;
  const bound = (b: unknown) => b === undefined || (typeof b === 'string' && COMPATIBILITY_BOUND.test(b));
  if (typeof value !== 'object' || Array.isArray(value) || !bound(c.min) || !bound(c.max))
    throw new Refusal(
      PLG_EXIT.VALIDATE,
      'manifest.json "compatibility" must be {"min", "max"} with versions like 1.0.0 or 2.x',
    );
  return { compatibility: { ...(c.min ? { min: c.min as string } : {}), ...(c.max ? { max: c.max as string } : {}) } };
}

/** Each post-install script: a .php path inside the plugin (not under db/, which the installer deletes), present in the zip. */
function postInstallScriptsOf(value: unknown, names: readonly string[]): Pick<InspectedManifest, 'postInstallScripts'> {
  if (value === undefined || value === null) return {};
  if (!Array.isArray(value) || value.length > 20)
    throw new Refusal(PLG_EXIT.VALIDATE, 'manifest.json "post_install_scripts" must be a list of at most 20 paths');
  for (const script of value) {
    if (typeof script !== 'string' || !/^(?!db\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9_./-]+\.php$/.test(script))
      throw new Refusal(
        PLG_EXIT.VALIDATE,
        `manifest.json "post_install_scripts": ${JSON.stringify(script)} is not a .php path inside the plugin (relative, no "..", not under db/)`,
      );
    if (!names.includes(script))
      throw new Refusal(PLG_EXIT.VALIDATE, `manifest.json "post_install_scripts": ${script} is not in the package`);
  }
  return value.length ? { postInstallScripts: value as string[] } : {};
}

async function readEntries(
  zipPath: string,
  fileSize: number,
  limits: InspectLimits,
): Promise<{ manifest?: Buffer; names: string[]; totalBytes: number }> {
  // Synchronous positional reads (from the page cache, the file was just written): one thread-pool round
  // trip per entry costs more than the read itself. The event loop gets a turn every few megabytes.
  const fd = openSync(zipPath, 'r');
  try {
    const entries = readZipDirectory(fd, fileSize, limits.maxEntries);
    checkEntries(entries, fileSize, limits);
    let manifest: Buffer | undefined;
    let totalBytes = 0;
    let sinceYield = 0;
    // One read buffer, grown to the largest entry: fresh memory for every entry costs more than the read.
    let scratch = Buffer.allocUnsafe(0);
    for (const entry of entries) {
      if (entry.name.endsWith('/')) continue;
      if (sinceYield > YIELD_BYTES) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      sinceYield += entry.compressedSize + entry.uncompressedSize;
      if (scratch.length < entry.compressedSize) scratch = Buffer.allocUnsafe(entry.compressedSize);
      const raw = scratch.subarray(0, entry.compressedSize);
      const bytesRead = entry.compressedSize ? readSync(fd, raw, 0, entry.compressedSize, entry.dataOffset) : 0;
      if (bytesRead !== entry.compressedSize) throw zipInvalid(`entry "${entry.name}" is truncated`);
      // Inflated in one call with a ceiling of its declared size: a size that lies fails here, and a bomb never
      // gets to allocate more than it declared.
      let content: Buffer;
      if (entry.method === 0) content = raw;
      else {
        try {
          content = inflateRawSync(raw, { maxOutputLength: Math.max(entry.uncompressedSize, 1) });
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          throw zipInvalid(
            `entry "${entry.name}" ${code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than the ${entry.uncompressedSize} bytes it declares` : `cannot be inflated (${(error as Error).message})`}`,
          );
        }
      }
      if (content.length !== entry.uncompressedSize)
        throw zipInvalid(
          `entry "${entry.name}" inflates to ${content.length} bytes, not the ${entry.uncompressedSize} it declares`,
        );
      if (crc32(content) >>> 0 !== entry.crc32 >>> 0)
        throw zipInvalid(`entry "${entry.name}" is corrupt (CRC-32 mismatch)`);
      totalBytes += content.length;
      if (entry.name === 'manifest.json') manifest = Buffer.from(content);
    }
    return { manifest, names: entries.map((e) => e.name), totalBytes };
  } finally {
    closeSync(fd);
  }
}

/** Every rule about names, types and sizes, before anything is inflated. */
function checkEntries(entries: readonly DirectoryEntry[], fileSize: number, limits: InspectLimits): void {
  const folded = new Map<string, string>();
  const files = new Set<string>();
  const refused = ignore().add(HOST_REFUSED);
  let declared = 0;
  for (const entry of entries) {
    const problem = unsafeName(entry.nameRaw, (entry.flags & 0x800) !== 0);
    if (problem) throw zipInvalid(problem);
    const name = entry.name;
    const isDirectory = name.endsWith('/');
    const key = foldKey(name);
    const twin = folded.get(key);
    if (twin !== undefined) {
      throw zipInvalid(
        twin === name || twin.replace(/\/$/, '') === name.replace(/\/$/, '')
          ? `entry "${name}" appears twice`
          : `entries "${twin}" and "${name}" are the same path on some file systems (letter case or Unicode normalisation)`,
      );
    }
    folded.set(key, name);
    if (!isDirectory) files.add(key);
    if (entry.flags & 0x41) throw zipInvalid(`entry "${name}" is encrypted`);
    // Unix file types live in the external attributes' high 16 bits, and unzip reads them for many systems
    // besides Unix (BeOS, VMS, Atari, ...): judge the bits, not who claims to have made the zip.
    const type = (entry.externalAttributes >>> 16) & S_IFMT;
    if (type === S_IFLNK) throw zipInvalid(`entry "${name}" is a symbolic link`);
    if (type !== 0 && type !== S_IFREG && type !== S_IFDIR)
      throw zipInvalid(`entry "${name}" is not a regular file or folder (a device, FIFO or socket)`);
    if (entry.method !== 0 && entry.method !== 8)
      throw zipInvalid(
        `entry "${name}" uses compression method ${entry.method} (only stored and deflate are accepted)`,
      );
    if (isDirectory && entry.uncompressedSize !== 0) throw zipInvalid(`directory entry "${name}" has content`);
    if (!isDirectory && refused.ignores(name))
      throw zipInvalid(
        `entry "${name}" is a file no plugin ships (secrets, keys, root composer files, web server or PHP settings), refused as the packer refuses it`,
      );
    if (name !== 'manifest.json' && /(^|\/)manifest\.json$/i.test(name)) {
      throw new Refusal(
        PLG_EXIT.VALIDATE,
        `a manifest.json below the root, at "${name}": Conn2Flow installs the folder of the first manifest.json it finds, which may be this one`,
      );
    }
    if (name === 'manifest.json' && entry.uncompressedSize > MAX_MANIFEST_BYTES)
      throw new Refusal(
        PLG_EXIT.VALIDATE,
        `manifest.json is ${entry.uncompressedSize} bytes, more than the ${MAX_MANIFEST_BYTES} a manifest may have`,
      );
    declared += entry.uncompressedSize;
    if (declared > limits.maxTotalBytes) throw zipInvalid(`more than ${limits.maxTotalBytes} bytes once extracted`);
    if (
      entry.uncompressedSize > RATIO_FLOOR &&
      entry.uncompressedSize / Math.max(entry.compressedSize, 1) > limits.maxRatio
    ) {
      throw zipInvalid(
        `entry "${name}" expands ${Math.round(entry.uncompressedSize / Math.max(entry.compressedSize, 1))} times (limit ${limits.maxRatio}): a zip bomb?`,
      );
    }
    if (declared > RATIO_FLOOR && declared / fileSize > limits.maxRatio)
      throw zipInvalid(`the package expands more than ${limits.maxRatio} times: a zip bomb?`);
  }
  // A file whose path another entry uses as a folder: extractors overwrite one with the other, or fail.
  for (const entry of entries) {
    const parts = foldKey(entry.name).split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (files.has(parent))
        throw zipInvalid(`entry "${entry.name}" is inside "${folded.get(parent)}", which is a file`);
    }
  }
}
