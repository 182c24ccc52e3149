import { readSync } from 'node:fs';
import { crc32 } from 'node:zlib';

// A zip's structure read byte by byte, without trusting any of it: the end record, the central directory,
// every local header and data descriptor. Extractors disagree about zips that say two things at once (a name
// in the header and another in an extra field, two directory records over one entry, bytes hidden between
// entries), so `readZipDirectory` refuses anything but a plain zip: local entries that tile the file from
// byte 0 to the central directory, each exactly as its central record describes it.

export class ZipStructureError extends Error {}

export interface DirectoryEntry {
  /** The name as stored (raw bytes): the central record's, which the local header and any 0x7075 field repeat. */
  nameRaw: Buffer;
  name: string;
  versionMadeBy: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  externalAttributes: number;
  localHeaderOffset: number;
  /** Where the entry's data starts (after its local header). */
  dataOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const DESCRIPTOR = 0x08074b50;
const UNICODE_PATH = 0x7075;
const ZIP64_EXTRA = 0x0001;
const MAX32 = 0xffffffff;

function read(fd: number, position: number, length: number, fileSize: number, what: string): Buffer {
  if (position < 0 || position + length > fileSize)
    throw new ZipStructureError(`${what} runs past the end of the file`);
  const buffer = Buffer.alloc(length);
  if (readSync(fd, buffer, 0, length, position) !== length) throw new ZipStructureError(`${what} is truncated`);
  return buffer;
}

function extraFields(raw: Buffer, what: string): Map<number, Buffer> {
  const fields = new Map<number, Buffer>();
  for (let at = 0; at < raw.length; ) {
    if (at + 4 > raw.length) throw new ZipStructureError(`${what}: a malformed extra field`);
    const id = raw.readUInt16LE(at);
    const size = raw.readUInt16LE(at + 2);
    if (at + 4 + size > raw.length) throw new ZipStructureError(`${what}: a malformed extra field`);
    if (fields.has(id)) throw new ZipStructureError(`${what}: the extra field 0x${id.toString(16)} appears twice`);
    fields.set(id, raw.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  return fields;
}

/** The Info-ZIP Unicode Path field (0x7075), as PHP's libzip and unzip would use it: its name must be the entry's. */
function checkUnicodePath(fields: Map<number, Buffer>, nameRaw: Buffer, what: string): void {
  const field = fields.get(UNICODE_PATH);
  if (!field) return;
  if (field.length < 5 || field[0] !== 1) throw new ZipStructureError(`${what}: a malformed Unicode Path extra field`);
  const unicode = field.subarray(5);
  const applies = field.readUInt32LE(1) === crc32(nameRaw) >>> 0;
  if (!unicode.equals(nameRaw)) {
    throw new ZipStructureError(
      `${what}: its Unicode Path extra field names it ${JSON.stringify(unicode.toString('utf8'))}${applies ? ', which extractors use instead' : ''}: the names disagree`,
    );
  }
}

export function readZipDirectory(fd: number, fileSize: number, maxEntries: number): DirectoryEntry[] {
  // The end record is in the last 22 + 65535 bytes; the last one whose comment runs exactly to the end.
  const tailLength = Math.min(fileSize, 22 + 65_535);
  const tail = read(fd, fileSize - tailLength, tailLength, fileSize, 'the end of the zip');
  let eocd = -1;
  for (let at = tail.length - 22; at >= 0; at--) {
    if (tail.readUInt32LE(at) === EOCD && at + 22 + tail.readUInt16LE(at + 20) === tail.length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new ZipStructureError('not a readable zip: no end of central directory record');
  const eocdOffset = fileSize - tailLength + eocd;
  if (tail.readUInt16LE(eocd + 4) !== 0 || tail.readUInt16LE(eocd + 6) !== 0)
    throw new ZipStructureError('a multi-disk (split) zip');
  let count = tail.readUInt16LE(eocd + 10);
  let centralSize = tail.readUInt32LE(eocd + 12);
  let centralOffset = tail.readUInt32LE(eocd + 16);
  let centralEnd = eocdOffset;
  if (
    eocdOffset >= 20 &&
    read(fd, eocdOffset - 20, 4, fileSize, 'the zip64 locator').readUInt32LE(0) === ZIP64_LOCATOR
  ) {
    const locator = read(fd, eocdOffset - 20, 20, fileSize, 'the zip64 locator');
    const recordOffset = Number(locator.readBigUInt64LE(8));
    const record = read(fd, recordOffset, 56, fileSize, 'the zip64 end record');
    if (record.readUInt32LE(0) !== ZIP64_EOCD)
      throw new ZipStructureError('the zip64 locator points at no zip64 end record');
    count = Number(record.readBigUInt64LE(32));
    centralSize = Number(record.readBigUInt64LE(40));
    centralOffset = Number(record.readBigUInt64LE(48));
    centralEnd = recordOffset;
  }
  if (count > maxEntries) throw new ZipStructureError(`${count} entries: more than the limit of ${maxEntries}`);
  if (centralOffset + centralSize !== centralEnd)
    throw new ZipStructureError(
      'the central directory does not end where the end record begins (data hidden between them, or a prefix before the archive)',
    );

  const central = read(fd, centralOffset, centralSize, fileSize, 'the central directory');
  const entries: DirectoryEntry[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + 46 > central.length || central.readUInt32LE(at) !== CENTRAL)
      throw new ZipStructureError(`central directory record ${index + 1} is malformed`);
    const nameLength = central.readUInt16LE(at + 28);
    const extraLength = central.readUInt16LE(at + 30);
    const commentLength = central.readUInt16LE(at + 32);
    if (at + 46 + nameLength + extraLength + commentLength > central.length)
      throw new ZipStructureError(`central directory record ${index + 1} runs past the directory`);
    if (central.readUInt16LE(at + 34) !== 0)
      throw new ZipStructureError(`central directory record ${index + 1} is on another disk`);
    const nameRaw = Buffer.from(central.subarray(at + 46, at + 46 + nameLength));
    const what = `entry ${JSON.stringify(nameRaw.toString('utf8'))}`;
    const fields = extraFields(central.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), what);
    checkUnicodePath(fields, nameRaw, what);
    let compressedSize = central.readUInt32LE(at + 20);
    let uncompressedSize = central.readUInt32LE(at + 24);
    let localHeaderOffset = central.readUInt32LE(at + 42);
    const zip64 = fields.get(ZIP64_EXTRA);
    if (compressedSize === MAX32 || uncompressedSize === MAX32 || localHeaderOffset === MAX32) {
      if (!zip64) throw new ZipStructureError(`${what}: 0xFFFFFFFF sizes without a zip64 extra field`);
      let z = 0;
      const next = () => {
        if (z + 8 > zip64.length) throw new ZipStructureError(`${what}: a short zip64 extra field`);
        const value = Number(zip64.readBigUInt64LE(z));
        z += 8;
        return value;
      };
      if (uncompressedSize === MAX32) uncompressedSize = next();
      if (compressedSize === MAX32) compressedSize = next();
      if (localHeaderOffset === MAX32) localHeaderOffset = next();
    }
    entries.push({
      nameRaw,
      name: nameRaw.toString('utf8'),
      versionMadeBy: central.readUInt16LE(at + 4),
      flags: central.readUInt16LE(at + 8),
      method: central.readUInt16LE(at + 10),
      crc32: central.readUInt32LE(at + 16),
      compressedSize,
      uncompressedSize,
      externalAttributes: central.readUInt32LE(at + 38),
      localHeaderOffset,
      dataOffset: 0,
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  if (at !== central.length) throw new ZipStructureError('the central directory holds more than its records');

  // Each local header must repeat its central record, and the entries must tile the file from byte 0 to the
  // central directory: no stub before the first, no bytes between two, no two records over one entry.
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  let expected = 0;
  for (const entry of byOffset) {
    const what = `entry ${JSON.stringify(entry.name)}`;
    if (entry.localHeaderOffset < expected)
      throw new ZipStructureError(`${what} overlaps another entry (two directory records over the same bytes)`);
    if (entry.localHeaderOffset > expected && expected === 0)
      throw new ZipStructureError(
        `the zip starts with ${entry.localHeaderOffset} bytes that are not an entry (a self-extractor stub, or hidden data)`,
      );
    if (entry.localHeaderOffset > expected)
      throw new ZipStructureError(`${entry.localHeaderOffset - expected} bytes are hidden before ${what}`);
    const local = read(fd, entry.localHeaderOffset, 30, fileSize, `the local header of ${what}`);
    if (local.readUInt32LE(0) !== LOCAL)
      throw new ZipStructureError(`${what} has no local header where the directory says`);
    const nameLength = local.readUInt16LE(26);
    const extraLength = local.readUInt16LE(28);
    const rest = read(
      fd,
      entry.localHeaderOffset + 30,
      nameLength + extraLength,
      fileSize,
      `the local header of ${what}`,
    );
    const localName = rest.subarray(0, nameLength);
    if (!localName.equals(entry.nameRaw))
      throw new ZipStructureError(
        `${what}: its local header names it ${JSON.stringify(localName.toString('utf8'))}: the names disagree`,
      );
    checkUnicodePath(extraFields(rest.subarray(nameLength), `the local header of ${what}`), entry.nameRaw, what);
    const localFlags = local.readUInt16LE(6);
    if (localFlags !== entry.flags || local.readUInt16LE(8) !== entry.method)
      throw new ZipStructureError(
        `${what}: its local header's flags or compression method differ from the directory's`,
      );
    entry.dataOffset = entry.localHeaderOffset + 30 + nameLength + extraLength;
    let end = entry.dataOffset + entry.compressedSize;
    if (end > fileSize) throw new ZipStructureError(`${what} runs past the end of the file`);
    const localCrc = local.readUInt32LE(14);
    const localCompressed = local.readUInt32LE(18);
    const localUncompressed = local.readUInt32LE(22);
    const matches = (crc: number, compressed: number, uncompressed: number) =>
      crc === entry.crc32 &&
      (compressed === entry.compressedSize || compressed === MAX32) &&
      (uncompressed === entry.uncompressedSize || uncompressed === MAX32);
    if (entry.flags & 0x8) {
      // Sizes and CRC follow the data, in a descriptor (with or without its signature; 64-bit sizes in zip64).
      if (
        !(localCrc === 0 && localCompressed === 0 && localUncompressed === 0) &&
        !matches(localCrc, localCompressed, localUncompressed)
      ) {
        throw new ZipStructureError(`${what}: its local header's CRC or sizes differ from the directory's`);
      }
      const descriptor = read(fd, end, Math.min(24, fileSize - end), fileSize, `the data descriptor of ${what}`);
      const signed = descriptor.length >= 4 && descriptor.readUInt32LE(0) === DESCRIPTOR ? 4 : 0;
      const small =
        descriptor.length >= signed + 12 &&
        descriptor.readUInt32LE(signed) === entry.crc32 &&
        descriptor.readUInt32LE(signed + 4) === entry.compressedSize &&
        descriptor.readUInt32LE(signed + 8) === entry.uncompressedSize;
      const large =
        !small &&
        descriptor.length >= signed + 20 &&
        descriptor.readUInt32LE(signed) === entry.crc32 &&
        Number(descriptor.readBigUInt64LE(signed + 4)) === entry.compressedSize &&
        Number(descriptor.readBigUInt64LE(signed + 12)) === entry.uncompressedSize;
      if (!small && !large)
        throw new ZipStructureError(`${what}: its data descriptor differs from the directory's CRC or sizes`);
      end += signed + (small ? 12 : 20);
    } else if (!matches(localCrc, localCompressed, localUncompressed)) {
      throw new ZipStructureError(`${what}: its local header's CRC or sizes differ from the directory's`);
    }
    expected = end;
  }
  if (expected !== centralOffset)
    throw new ZipStructureError(
      `${centralOffset - expected} bytes are hidden between the last entry and the central directory`,
    );
  return entries;
}
