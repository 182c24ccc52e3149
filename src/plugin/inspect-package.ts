import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import { PLG_EXIT } from '../protocol/exit-codes.ts';
import { MIN_PACKAGE_SIZE } from './verify-package.ts';

// Inspects a downloaded package before any installer sees it. Names are read as raw bytes (no library
// clean-up), every entry is inflated and its real size and CRC-32 compared with the headers, so a zip that
// lies about itself is refused here rather than half-extracted by ZipArchive on a live site (Conn2Flow
// ignores extractTo's result).

export interface InspectLimits {
  maxEntries: number;
  maxTotalBytes: number;
  /** Uncompressed/compressed, for the whole package and for any entry above 1 MiB. */
  maxRatio: number;
}

export const DEFAULT_INSPECT_LIMITS: InspectLimits = { maxEntries: 20_000, maxTotalBytes: 1024 * 1024 * 1024, maxRatio: 200 };

export type Inspection =
  | { ok: true; manifest: { id: string; name: string; version: string }; entries: number; totalBytes: number }
  | { ok: false; exitCode: number; reason: string };

const RATIO_FLOOR = 1024 * 1024;
const YIELD_BYTES = 8 * 1024 * 1024;
const MADE_BY_UNIX = 3;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

class Refusal extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}
const zipInvalid = (reason: string) => new Refusal(PLG_EXIT.ZIP_INVALID, reason);

/** Why an entry name is unsafe to extract, or undefined. */
export function unsafeName(raw: Buffer): string | undefined {
  if (raw.length === 0) return 'an entry has an empty name';
  const name = raw.toString('utf8');
  const shown = JSON.stringify(name);
  if (raw.includes(0x5c)) return `entry ${shown} contains a backslash (a Windows path separator)`;
  if ([...raw].some((byte) => byte < 0x20 || byte === 0x7f)) return `entry ${shown} contains control characters`;
  if (name.includes('\uFFFD')) return `entry ${shown} is not valid UTF-8`;
  if (name.startsWith('/')) return `entry ${shown} is an absolute path`;
  if (/^[A-Za-z]:/.test(name)) return `entry ${shown} starts with a drive letter`;
  if (name.split('/').some((part) => part === '..')) return `entry ${shown} climbs out of the plugin folder (..)`;
  return undefined;
}

/** Checks a package; `expected` is what the job says it is (id and version must match the manifest). */
export async function inspectPackage(zipPath: string, expected: { id: string; version: string } | null, limits: InspectLimits = DEFAULT_INSPECT_LIMITS): Promise<Inspection> {
  try {
    const size = (await stat(zipPath)).size;
    if (size < MIN_PACKAGE_SIZE) throw zipInvalid(`${size} bytes: Conn2Flow rejects packages under ${MIN_PACKAGE_SIZE} bytes`);
    const { manifest, entries, totalBytes } = await readEntries(zipPath, size, limits);
    if (!manifest) throw new Refusal(PLG_EXIT.VALIDATE, 'no manifest.json at the zip root');
    const parsed = parseManifest(manifest);
    if (expected && parsed.id !== expected.id) throw new Refusal(PLG_EXIT.VALIDATE, `manifest.json says id "${parsed.id}", the job is for "${expected.id}"`);
    if (expected && parsed.version !== expected.version) throw new Refusal(PLG_EXIT.VALIDATE, `manifest.json says version ${parsed.version}, the job is for ${expected.version}`);
    return { ok: true, manifest: parsed, entries, totalBytes };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, exitCode: error.exitCode, reason: error.message };
    throw error;
  }
}

function parseManifest(bytes: Buffer): { id: string; name: string; version: string } {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Refusal(PLG_EXIT.VALIDATE, `manifest.json is not JSON: ${(error as Error).message}`);
  }
  const m = value as Record<string, unknown>;
  if (typeof m?.id !== 'string' || typeof m.name !== 'string' || typeof m.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(m.version)) {
    throw new Refusal(PLG_EXIT.VALIDATE, 'manifest.json needs string "id", "name" and an x.y.z "version"');
  }
  return { id: m.id, name: m.name, version: m.version };
}

interface ListedEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

async function readEntries(zipPath: string, fileSize: number, limits: InspectLimits): Promise<{ manifest?: Buffer; entries: number; totalBytes: number }> {
  const listed = await listEntries(zipPath, fileSize, limits);
  // Contents: one positional read per entry, inflated in one call with a ceiling of its declared size, so
  // a size that lies fails here and a bomb never gets to allocate more than it declared.
  // Synchronous positional reads (from the page cache, the file was just written): one thread-pool round
  // trip per entry costs more than the read itself. The event loop gets a turn every few megabytes.
  const fd = openSync(zipPath, 'r');
  let manifest: Buffer | undefined;
  let totalBytes = 0;
  let sinceYield = 0;
  try {
    const header = Buffer.alloc(30);
    // One read buffer, grown to the largest entry: fresh memory for every entry costs more than the read.
    let scratch = Buffer.allocUnsafe(0);
    for (const entry of listed) {
      if (entry.name.endsWith('/')) continue;
      if (sinceYield > YIELD_BYTES) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
      sinceYield += entry.compressedSize + entry.uncompressedSize;
      readSync(fd, header, 0, 30, entry.localHeaderOffset);
      if (header.readUInt32LE(0) !== 0x04034b50) throw zipInvalid(`entry "${entry.name}" has no local header where the directory says`);
      const dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
      if (dataStart + entry.compressedSize > fileSize) throw zipInvalid(`entry "${entry.name}" runs past the end of the file`);
      if (scratch.length < entry.compressedSize) scratch = Buffer.allocUnsafe(entry.compressedSize);
      const raw = scratch.subarray(0, entry.compressedSize);
      const bytesRead = entry.compressedSize ? readSync(fd, raw, 0, entry.compressedSize, dataStart) : 0;
      if (bytesRead !== entry.compressedSize) throw zipInvalid(`entry "${entry.name}" is truncated`);
      let content: Buffer;
      if (entry.method === 0) content = raw;
      else {
        try {
          content = inflateRawSync(raw, { maxOutputLength: Math.max(entry.uncompressedSize, 1) });
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          throw zipInvalid(`entry "${entry.name}" ${code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than the ${entry.uncompressedSize} bytes it declares` : `cannot be inflated (${(error as Error).message})`}`);
        }
      }
      if (content.length !== entry.uncompressedSize) throw zipInvalid(`entry "${entry.name}" inflates to ${content.length} bytes, not the ${entry.uncompressedSize} it declares`);
      if (crc32(content) >>> 0 !== entry.crc32 >>> 0) throw zipInvalid(`entry "${entry.name}" is corrupt (CRC-32 mismatch)`);
      totalBytes += content.length;
      if (entry.name === 'manifest.json') manifest = Buffer.from(content);
    }
  } finally {
    closeSync(fd);
  }
  return { manifest, entries: listed.length, totalBytes };
}

/** The central directory, every name and header checked; nothing is inflated here. */
function listEntries(zipPath: string, fileSize: number, limits: InspectLimits): Promise<ListedEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true, autoClose: true, decodeStrings: false, validateEntrySizes: true }, (openError, zip) => {
      if (openError || !zip) return reject(zipInvalid(`not a readable zip: ${openError?.message ?? 'unknown error'}`));
      if (zip.entryCount > limits.maxEntries) {
        zip.close();
        return reject(zipInvalid(`${zip.entryCount} entries: more than the limit of ${limits.maxEntries}`));
      }
      const seen = new Set<string>();
      const folded = new Map<string, string>();
      const listed: ListedEntry[] = [];
      let declared = 0;
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        zip.close();
        reject(error instanceof Refusal ? error : zipInvalid(error.message));
      };
      zip.on('error', fail);
      zip.on('end', () => {
        if (settled) return;
        settled = true;
        resolve(listed);
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        const raw = entry.fileName as unknown as Buffer;
        const problem = unsafeName(raw);
        if (problem) return fail(zipInvalid(problem));
        const name = raw.toString('utf8');
        const key = name.replace(/\/+$/, '');
        if (seen.has(key)) return fail(zipInvalid(`entry "${name}" appears twice`));
        seen.add(key);
        const lower = key.toLowerCase();
        if (folded.has(lower)) return fail(zipInvalid(`entries "${folded.get(lower)}" and "${name}" differ only in letter case`));
        folded.set(lower, name);
        if (entry.generalPurposeBitFlag & 0x41) return fail(zipInvalid(`entry "${name}" is encrypted`));
        if (entry.versionMadeBy >>> 8 === MADE_BY_UNIX && ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) return fail(zipInvalid(`entry "${name}" is a symbolic link`));
        if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) return fail(zipInvalid(`entry "${name}" uses compression method ${entry.compressionMethod} (only stored and deflate are accepted)`));
        if (name !== 'manifest.json' && /(^|\/)manifest\.json$/i.test(name)) {
          return fail(new Refusal(PLG_EXIT.VALIDATE, `a manifest.json below the root, at "${name}": Conn2Flow installs the folder of the first manifest.json it finds, which may be this one`));
        }
        declared += entry.uncompressedSize;
        if (declared > limits.maxTotalBytes) return fail(zipInvalid(`more than ${limits.maxTotalBytes} bytes once extracted`));
        if (entry.uncompressedSize > RATIO_FLOOR && entry.uncompressedSize / Math.max(entry.compressedSize, 1) > limits.maxRatio) {
          return fail(zipInvalid(`entry "${name}" expands ${Math.round(entry.uncompressedSize / Math.max(entry.compressedSize, 1))} times (limit ${limits.maxRatio}): a zip bomb?`));
        }
        if (declared > RATIO_FLOOR && declared / fileSize > limits.maxRatio) return fail(zipInvalid(`the package expands more than ${limits.maxRatio} times: a zip bomb?`));
        if (name.endsWith('/') && entry.uncompressedSize !== 0) return fail(zipInvalid(`directory entry "${name}" has content`));
        listed.push({ name, method: entry.compressionMethod, crc32: entry.crc32, compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize, localHeaderOffset: entry.relativeOffsetOfLocalHeader });
        zip.readEntry();
      });
      zip.readEntry();
    });
  });
}
