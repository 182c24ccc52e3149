import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { Deflater } from './deflater.ts';

// A deterministic zip writer: the bytes depend only on the entries' names and contents, never on the
// machine (fixed time, fixed permissions, Unix "made by", no extra fields). Small files are read whole and
// deflated several at a time on libuv's thread pool; large files stream through deflate with a data
// descriptor, so no file ever sits in memory whole. The SHA-256 of the archive is computed as it is written.

export interface ZipEntry {
  /** Name inside the archive, `/`-separated; directories end with `/`. */
  name: string;
  /** Absolute path of the file on disk, or its content; absent for directories. */
  source?: string | Buffer;
  /** Size in bytes (for files given by path). */
  size?: number;
}

export interface ZipOptions {
  /** Seconds since the epoch stamped on every entry (SOURCE_DATE_EPOCH); default 2000-01-01T00:00:00Z. */
  mtime?: number;
  level?: number;
  /** Called after each entry is written. */
  onEntry?: (done: number, total: number, bytes: number) => void;
}

export interface ZipResult {
  size: number;
  sha256: string;
  entries: number;
}

export const DEFAULT_MTIME = 946684800; // 2000-01-01T00:00:00Z
const STREAM_THRESHOLD = 1024 * 1024;
const PARALLEL = 8;
/**
 * Formats that are compressed already: stored as they are (like zip's -n), which saves the time and memory
 * of deflating them for nothing. Decided by name alone, so the output stays a function of the input.
 */
const STORED_EXTENSIONS =
  /\.(png|jpe?g|gif|webp|avif|ico|woff2?|zip|gz|tgz|bz2|xz|7z|rar|mp3|mp4|m4a|ogg|webm|mov|pdf)$/i;
const MAX_ENTRIES = 0xffff;
const MAX_OFFSET = 0xffffffff;

interface Written {
  name: Buffer;
  crc: number;
  compressedSize: number;
  size: number;
  method: number;
  flags: number;
  offset: number;
  isDir: boolean;
}

export function dosDateTime(epochSeconds: number): { date: number; time: number } {
  const d = new Date(Math.min(Math.max(epochSeconds, 315532800), 4354819198) * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

export async function writeZip(
  target: string,
  entries: readonly ZipEntry[],
  options: ZipOptions = {},
): Promise<ZipResult> {
  if (entries.length > MAX_ENTRIES)
    throw new Error(`too many entries for a zip without ZIP64: ${entries.length} > ${MAX_ENTRIES}`);
  const { date, time } = dosDateTime(options.mtime ?? DEFAULT_MTIME);
  const level = options.level ?? 6;
  const temporary = `${target}.partial-${process.pid}`;
  // Written synchronously: nothing holds on to a chunk after emit returns, so read buffers can be reused.
  const out = openSync(temporary, 'w');
  const closers: Array<() => void> = [];
  const hash = createHash('sha256');
  let offset = 0;
  const emit = async (chunk: Buffer) => {
    hash.update(chunk);
    for (let done = 0; done < chunk.length; ) done += writeSync(out, chunk, done, chunk.length - done);
    offset += chunk.length;
  };

  try {
    const written: Written[] = [];
    // Prepared (compressed) small entries, started ahead of the writer, consumed strictly in order. Each one
    // reads into one of PARALLEL reusable buffers, so memory stays flat however many files there are.
    const prepared = new Map<number, Promise<Prepared>>();
    const slots = Array.from({ length: PARALLEL }, () => ({
      buffer: undefined as Buffer | undefined,
      deflater: undefined as Deflater | undefined,
    }));
    closers.push(() => slots.forEach((slot) => slot.deflater?.close()));
    let next = 0;
    const startAhead = (from: number) => {
      while (next < entries.length && next < from + PARALLEL) {
        const entry = entries[next];
        if (!isStreamed(entry)) {
          const slot = slots[next % PARALLEL];
          const job = prepare(
            entry,
            (slot.deflater ??= new Deflater(level)),
            (slot.buffer ??= Buffer.allocUnsafe(STREAM_THRESHOLD)),
          );
          job.catch(() => {}); // observed when its turn comes; this only keeps an early failure from going unhandled
          prepared.set(next, job);
        }
        next++;
      }
    };
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      startAhead(i);
      const entry = entries[i];
      const name = Buffer.from(entry.name, 'utf8');
      if (offset > MAX_OFFSET) throw new Error('archive larger than 4 GiB: ZIP64 is not supported');
      const start = offset;
      if (isStreamed(entry)) {
        // Large media streams through deflate level 0 (stored blocks): flat memory, next to no CPU.
        const streamLevel = STORED_EXTENSIONS.test(entry.name) ? 0 : level;
        const result = await streamEntry(entry.source as string, name, streamLevel, date, time, emit);
        written.push({ ...result, name, offset: start, isDir: false });
        bytes += result.size;
      } else {
        const p = await prepared.get(i)!;
        prepared.delete(i);
        const flags = 0x0800;
        await emit(
          localHeader(name, {
            flags,
            method: p.method,
            date,
            time,
            crc: p.crc,
            compressedSize: p.data.length,
            size: p.size,
            isDir: p.isDir,
          }),
        );
        if (p.data.length) await emit(p.data);
        written.push({
          name,
          crc: p.crc,
          compressedSize: p.data.length,
          size: p.size,
          method: p.method,
          flags,
          offset: start,
          isDir: p.isDir,
        });
        bytes += p.size;
      }
      options.onEntry?.(i + 1, entries.length, bytes);
    }
    const centralStart = offset;
    for (const w of written) await emit(centralHeader(w, date, time));
    if (offset > MAX_OFFSET) throw new Error('archive larger than 4 GiB: ZIP64 is not supported');
    await emit(endOfCentralDirectory(written.length, offset - centralStart, centralStart));
    fsyncSync(out);
    closeSync(out);
    closers.forEach((close) => close());
    await rename(temporary, target);
    return { size: offset, sha256: hash.digest('hex'), entries: written.length };
  } catch (error) {
    closeSync(out);
    closers.forEach((close) => close());
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Reads a small file (see STREAM_THRESHOLD) into a reusable buffer. Synchronous on purpose: it keeps the
 * thread pool free for deflate. A file whose size changed since it was listed is an error, not a torn entry.
 */
const PROBE = Buffer.alloc(1);
function readInto(file: string, size: number, slot: Buffer): Buffer {
  const fd = openSync(file, 'r');
  try {
    let read = 0;
    while (read < size) {
      const n = readSync(fd, slot, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    if (read !== size || readSync(fd, PROBE, 0, 1, size) !== 0)
      throw new Error(`${file} changed while it was being packed`);
    return slot.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

function isStreamed(entry: ZipEntry): boolean {
  return typeof entry.source === 'string' && (entry.size ?? 0) > STREAM_THRESHOLD;
}

interface Prepared {
  data: Buffer;
  crc: number;
  size: number;
  method: number;
  isDir: boolean;
}

async function prepare(entry: ZipEntry, deflater: Deflater, slot: Buffer): Promise<Prepared> {
  if (entry.source === undefined) return { data: Buffer.alloc(0), crc: 0, size: 0, method: 0, isDir: true };
  const content = typeof entry.source === 'string' ? readInto(entry.source, entry.size ?? 0, slot) : entry.source;
  const crc = zlib.crc32(content);
  if (content.length === 0 || STORED_EXTENSIONS.test(entry.name))
    return { data: content, crc, size: content.length, method: 0, isDir: false };
  const deflated = await deflater.compress(content);
  return deflated.length < content.length
    ? { data: deflated, crc, size: content.length, method: 8, isDir: false }
    : { data: content, crc, size: content.length, method: 0, isDir: false };
}

async function streamEntry(
  file: string,
  name: Buffer,
  level: number,
  date: number,
  time: number,
  emit: (chunk: Buffer) => Promise<void>,
) {
  const flags = 0x0800 | 0x0008;
  await emit(localHeader(name, { flags, method: 8, date, time, crc: 0, compressedSize: 0, size: 0, isDir: false }));
  let crc = 0;
  let size = 0;
  let compressedSize = 0;
  const deflate = zlib.createDeflateRaw({ level });
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const pump = (async () => {
    for await (const chunk of input) {
      crc = zlib.crc32(chunk as Buffer, crc);
      size += (chunk as Buffer).length;
      if (!deflate.write(chunk)) await once(deflate, 'drain');
    }
    deflate.end();
  })();
  for await (const chunk of deflate) {
    compressedSize += (chunk as Buffer).length;
    await emit(chunk as Buffer);
  }
  await pump;
  if (size > MAX_OFFSET || compressedSize > MAX_OFFSET)
    throw new Error(`${name.toString()} is larger than 4 GiB: ZIP64 is not supported`);
  const descriptor = Buffer.allocUnsafe(16);
  descriptor.writeUInt32LE(0x08074b50, 0);
  descriptor.writeUInt32LE(crc >>> 0, 4);
  descriptor.writeUInt32LE(compressedSize, 8);
  descriptor.writeUInt32LE(size, 12);
  await emit(descriptor);
  return { crc: crc >>> 0, size, compressedSize, method: 8, flags };
}

function versionNeeded(method: number, isDir: boolean): number {
  return method === 8 && !isDir ? 20 : 10;
}

function localHeader(
  name: Buffer,
  h: {
    flags: number;
    method: number;
    date: number;
    time: number;
    crc: number;
    compressedSize: number;
    size: number;
    isDir: boolean;
  },
): Buffer {
  const b = Buffer.allocUnsafe(30 + name.length); // every byte is written below
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(versionNeeded(h.method, h.isDir), 4);
  b.writeUInt16LE(h.flags, 6);
  b.writeUInt16LE(h.method, 8);
  b.writeUInt16LE(h.time, 10);
  b.writeUInt16LE(h.date, 12);
  b.writeUInt32LE(h.crc >>> 0, 14);
  b.writeUInt32LE(h.compressedSize, 18);
  b.writeUInt32LE(h.size, 22);
  b.writeUInt16LE(name.length, 26);
  b.writeUInt16LE(0, 28);
  name.copy(b, 30);
  return b;
}

function centralHeader(w: Written, date: number, time: number): Buffer {
  const b = Buffer.allocUnsafe(46 + w.name.length); // every byte is written below
  const mode = w.isDir ? 0o040755 : 0o100644;
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, spec 2.0
  b.writeUInt16LE(versionNeeded(w.method, w.isDir), 6);
  b.writeUInt16LE(w.flags, 8);
  b.writeUInt16LE(w.method, 10);
  b.writeUInt16LE(time, 12);
  b.writeUInt16LE(date, 14);
  b.writeUInt32LE(w.crc >>> 0, 16);
  b.writeUInt32LE(w.compressedSize, 20);
  b.writeUInt32LE(w.size, 24);
  b.writeUInt16LE(w.name.length, 28);
  b.writeUInt16LE(0, 30); // extra
  b.writeUInt16LE(0, 32); // comment
  b.writeUInt16LE(0, 34); // disk
  b.writeUInt16LE(0, 36); // internal attributes
  b.writeUInt32LE(((mode << 16) | (w.isDir ? 0x10 : 0)) >>> 0, 38);
  b.writeUInt32LE(w.offset, 42);
  w.name.copy(b, 46);
  return b;
}

function endOfCentralDirectory(count: number, size: number, offset: number): Buffer {
  const b = Buffer.allocUnsafe(22); // every byte is written below
  b.writeUInt32LE(0x06054b50, 0);
  b.writeUInt16LE(0, 4);
  b.writeUInt16LE(0, 6);
  b.writeUInt16LE(count, 8);
  b.writeUInt16LE(count, 10);
  b.writeUInt32LE(size, 12);
  b.writeUInt32LE(offset, 16);
  b.writeUInt16LE(0, 20);
  return b;
}
