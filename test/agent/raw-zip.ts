import { crc32, deflateRawSync } from 'node:zlib';

// A zip writer for tests that does exactly what it is told, including what no sane writer would: names with
// "..", backslashes or NUL, symlink modes from any system, encryption flags, sizes and CRCs that lie, local
// headers that disagree with the directory, extra fields that rename an entry, bytes hidden before or between
// entries, two directory records over one entry.

export interface RawEntry {
  name: string | Buffer;
  data?: Buffer | string;
  method?: 0 | 8 | number;
  flags?: number;
  /** Unix mode (high 16 bits of the external attributes). */
  unixMode?: number;
  /** The system that made the entry (high byte of "version made by"): 3 Unix (default with unixMode), 0 MS-DOS, 5 Atari, 16 BeOS, ... */
  madeBy?: number;
  declaredSize?: number;
  declaredCrc?: number;
  /** The UTF-8 flag (bit 11); on unless false. */
  utf8?: boolean;
  centralExtra?: Buffer;
  localExtra?: Buffer;
  /** What the local header says, when it differs from the central record. */
  localName?: string | Buffer;
  localCrc?: number;
  localSize?: number;
}

export interface RawZipOptions {
  /** Bytes before the first entry (a self-extractor stub). */
  prefix?: Buffer;
  /** Bytes between two entries, after the entry at this index. */
  hiddenAfter?: { index: number; bytes: Buffer };
  /** A second central record for the entry at `of`, named `name`: two records over the same bytes. */
  aliasOf?: { of: number; name: string };
}

const bytes = (value: string | Buffer) => (Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'));

export function rawZip(entries: RawEntry[], options: RawZipOptions = {}): Buffer {
  const parts: Buffer[] = options.prefix ? [options.prefix] : [];
  const centrals: Buffer[] = [];
  let offset = options.prefix?.length ?? 0;
  const central = (
    entry: RawEntry,
    name: Buffer,
    at: number,
    stored: Buffer,
    crc: number,
    size: number,
    flags: number,
    method: number,
  ) => {
    const extra = entry.centralExtra ?? Buffer.alloc(0);
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    const madeBy = entry.madeBy ?? (entry.unixMode !== undefined ? 3 : 0);
    record.writeUInt16LE((madeBy << 8) | 20, 4);
    record.writeUInt16LE(20, 6);
    record.writeUInt16LE(flags, 8);
    record.writeUInt16LE(method, 10);
    record.writeUInt16LE(0, 12);
    record.writeUInt16LE(0x21, 14);
    record.writeUInt32LE(crc >>> 0, 16);
    record.writeUInt32LE(stored.length, 20);
    record.writeUInt32LE(size, 24);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt16LE(extra.length, 30);
    record.writeUInt32LE(entry.unixMode !== undefined ? (entry.unixMode << 16) >>> 0 : 0, 38);
    record.writeUInt32LE(at, 42);
    return [record, name, extra];
  };
  const offsets: Array<{ at: number; stored: Buffer; crc: number; size: number; flags: number; method: number }> = [];
  entries.forEach((entry, index) => {
    const name = bytes(entry.name);
    const data = bytes(entry.data ?? '');
    const method = entry.method ?? 8;
    const stored = method === 8 ? deflateRawSync(data) : data;
    const crc = entry.declaredCrc ?? crc32(data);
    const size = entry.declaredSize ?? data.length;
    const flags = (entry.flags ?? 0) | (entry.utf8 === false ? 0 : 0x800);
    const localName = bytes(entry.localName ?? name);
    const localExtra = entry.localExtra ?? Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE((entry.localCrc ?? crc) >>> 0, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(entry.localSize ?? size, 22);
    local.writeUInt16LE(localName.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    parts.push(local, localName, localExtra, stored);
    offsets.push({ at: offset, stored, crc, size, flags, method });
    centrals.push(...central(entry, name, offset, stored, crc, size, flags, method));
    offset += 30 + localName.length + localExtra.length + stored.length;
    if (options.hiddenAfter?.index === index) {
      parts.push(options.hiddenAfter.bytes);
      offset += options.hiddenAfter.bytes.length;
    }
  });
  let count = entries.length;
  if (options.aliasOf) {
    const original = offsets[options.aliasOf.of];
    centrals.push(
      ...central(
        entries[options.aliasOf.of],
        bytes(options.aliasOf.name),
        original.at,
        original.stored,
        original.crc,
        original.size,
        original.flags,
        original.method,
      ),
    );
    count++;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...centrals, end]);
}

/** An Info-ZIP Unicode Path extra field (0x7075) naming an entry `unicode`, for a header name `header`. */
export function unicodePath(unicode: string, header: string | Buffer): Buffer {
  const name = Buffer.from(unicode, 'utf8');
  const field = Buffer.alloc(4 + 5 + name.length);
  field.writeUInt16LE(0x7075, 0);
  field.writeUInt16LE(5 + name.length, 2);
  field.writeUInt8(1, 4);
  field.writeUInt32LE(crc32(bytes(header)) >>> 0, 5);
  name.copy(field, 9);
  return field;
}

export const MANIFEST = (id = 'demo-plugin', version = '1.0.0') =>
  JSON.stringify({ id, name: 'Demo Plugin', version }, null, 4);
/** Filler so a package clears Conn2Flow's 128-byte minimum. */
const README = 'A plugin used by the tests. '.repeat(8);

/** A well-formed package, plus whatever hostile entries are added. */
export function packageWith(extra: RawEntry[], manifest = MANIFEST(), options: RawZipOptions = {}): Buffer {
  return rawZip([{ name: 'manifest.json', data: manifest }, { name: 'README.md', data: README }, ...extra], options);
}

const SYMLINK = 0o120777;
const NFC = 'caf\u00e9.php';
const NFD = 'cafe\u0301.php';

/** The hostile corpus: each one must be refused, with the reason's keyword and the exit code. */
export const HOSTILE_ZIPS: Array<{ name: string; zip: () => Buffer; exitCode: 21 | 11; reason: RegExp }> = [
  {
    name: 'parent traversal',
    zip: () => packageWith([{ name: '../../etc/cron.d/evil', data: 'x' }]),
    exitCode: 21,
    reason: /climbs out/,
  },
  {
    name: 'traversal in the middle',
    zip: () => packageWith([{ name: 'modules/../../../var/www/shell.php', data: '<?php' }]),
    exitCode: 21,
    reason: /climbs out/,
  },
  {
    name: 'absolute path',
    zip: () => packageWith([{ name: '/etc/passwd', data: 'root' }]),
    exitCode: 21,
    reason: /absolute path/,
  },
  {
    name: 'drive letter',
    zip: () => packageWith([{ name: 'C:/Windows/evil.dll', data: 'x' }]),
    exitCode: 21,
    reason: /drive letter/,
  },
  {
    name: 'backslash traversal',
    zip: () => packageWith([{ name: '..\\..\\evil.php', data: 'x' }]),
    exitCode: 21,
    reason: /backslash/,
  },
  {
    name: 'symbolic link',
    zip: () => packageWith([{ name: 'link', data: '/etc/shadow', method: 0, unixMode: SYMLINK }]),
    exitCode: 21,
    reason: /symbolic link/,
  },
  {
    name: 'symbolic link made on BeOS',
    zip: () => packageWith([{ name: 'link', data: '/etc/passwd', method: 0, unixMode: SYMLINK, madeBy: 16 }]),
    exitCode: 21,
    reason: /symbolic link/,
  },
  {
    name: 'symbolic link made on VMS',
    zip: () => packageWith([{ name: 'link', data: '/etc/passwd', method: 0, unixMode: SYMLINK, madeBy: 2 }]),
    exitCode: 21,
    reason: /symbolic link/,
  },
  {
    name: 'symbolic link made on Atari',
    zip: () => packageWith([{ name: 'link', data: '/etc/passwd', method: 0, unixMode: SYMLINK, madeBy: 5 }]),
    exitCode: 21,
    reason: /symbolic link/,
  },
  {
    name: 'symbolic link claiming MS-DOS',
    zip: () => packageWith([{ name: 'link', data: '/etc/passwd', method: 0, unixMode: SYMLINK, madeBy: 0 }]),
    exitCode: 21,
    reason: /symbolic link/,
  },
  {
    name: 'a FIFO',
    zip: () => packageWith([{ name: 'pipe', data: '', method: 0, unixMode: 0o010644 }]),
    exitCode: 21,
    reason: /not a regular file/,
  },
  {
    name: 'duplicate names',
    zip: () =>
      packageWith([
        { name: 'a.php', data: '1' },
        { name: 'a.php', data: '2' },
      ]),
    exitCode: 21,
    reason: /twice/,
  },
  {
    name: 'names differing in case',
    zip: () =>
      packageWith([
        { name: 'Controller.php', data: '1' },
        { name: 'controller.php', data: '2' },
      ]),
    exitCode: 21,
    reason: /same path on some file systems/,
  },
  {
    name: 'NFC and NFD twins',
    zip: () =>
      packageWith([
        { name: NFC, data: '1' },
        { name: NFD, data: '2' },
      ]),
    exitCode: 21,
    reason: /non-ASCII name/,
  },
  {
    name: 'a non-ASCII name (unzip and ZipArchive write it differently)',
    zip: () => packageWith([{ name: NFD, data: '<?php' }]),
    exitCode: 21,
    reason: /non-ASCII name/,
  },
  {
    name: 'a non-ASCII name with a Unicode Path field that agrees',
    zip: () => packageWith([{ name: NFC, data: '<?php', centralExtra: unicodePath(NFC, NFC) }]),
    exitCode: 21,
    reason: /non-ASCII name/,
  },
  {
    name: 'double slash',
    zip: () =>
      packageWith([
        { name: 'modules/x.php', data: '1' },
        { name: 'modules//x.php', data: '2' },
      ]),
    exitCode: 21,
    reason: /empty or "\." path segment/,
  },
  {
    name: 'dot segment',
    zip: () =>
      packageWith([
        { name: 'modules/x.php', data: '1' },
        { name: 'modules/./x.php', data: '2' },
      ]),
    exitCode: 21,
    reason: /empty or "\." path segment/,
  },
  {
    name: 'a file used as a folder',
    zip: () =>
      packageWith([
        { name: 'modules', data: 'x' },
        { name: 'modules/evil.php', data: '<?php' },
      ]),
    exitCode: 21,
    reason: /inside "modules", which is a file/,
  },
  {
    name: 'non-ASCII name without the UTF-8 flag',
    zip: () => packageWith([{ name: Buffer.from('caf\u00e9.php', 'latin1'), data: '1', utf8: false }]),
    exitCode: 21,
    reason: /without the UTF-8 flag/,
  },
  {
    name: 'Unicode Path field naming a second manifest',
    zip: () =>
      packageWith([{ name: 'notes.txt', data: '{}', centralExtra: unicodePath('assets/manifest.json', 'notes.txt') }]),
    exitCode: 21,
    reason: /Unicode Path extra field names it "assets\/manifest\.json"/,
  },
  {
    name: 'Unicode Path field naming .env (local header only)',
    zip: () => packageWith([{ name: 'env.txt', data: 'DB_PASSWORD=x', localExtra: unicodePath('.env', 'env.txt') }]),
    exitCode: 21,
    reason: /names it "\.env"/,
  },
  {
    name: 'Unicode Path field climbing out',
    zip: () => packageWith([{ name: 'a.php', data: '<?php', centralExtra: unicodePath('../../shell.php', 'a.php') }]),
    exitCode: 21,
    reason: /names it "\.\.\/\.\.\/shell\.php"/,
  },
  {
    name: 'Unicode Path field replacing the root manifest',
    zip: () =>
      rawZip([
        { name: 'manifest.json', data: MANIFEST(), centralExtra: unicodePath('x.json', 'manifest.json') },
        { name: 'evil/manifest.json', data: MANIFEST('evil') },
      ]),
    exitCode: 21,
    reason: /names it "x\.json"/,
  },
  {
    name: 'local header with another name',
    zip: () => packageWith([{ name: 'readme.txt', localName: 'shell.php', data: '<?php' }]),
    exitCode: 21,
    reason: /local header names it "shell\.php"/,
  },
  {
    name: 'local header with another CRC',
    zip: () => packageWith([{ name: 'a.php', data: '<?php', localCrc: 42 }]),
    exitCode: 21,
    reason: /local header's CRC or sizes differ/,
  },
  {
    name: 'local header with another size',
    zip: () => packageWith([{ name: 'a.php', data: '<?php', localSize: 999 }]),
    exitCode: 21,
    reason: /local header's CRC or sizes differ/,
  },
  {
    name: 'two records over one entry',
    zip: () => packageWith([{ name: 'a.php', data: '<?php' }], MANIFEST(), { aliasOf: { of: 2, name: 'b.php' } }),
    exitCode: 21,
    reason: /overlaps another entry/,
  },
  {
    name: 'a self-extractor stub before the archive',
    zip: () => packageWith([], MANIFEST(), { prefix: Buffer.from('#!/bin/sh\nexec unzip "$0"\n') }),
    exitCode: 21,
    reason: /starts with \d+ bytes that are not an entry/,
  },
  {
    name: 'bytes hidden between entries',
    zip: () =>
      packageWith([{ name: 'a.php', data: '<?php' }], MANIFEST(), {
        hiddenAfter: { index: 0, bytes: Buffer.from('PK\u0003\u0004hidden') },
      }),
    exitCode: 21,
    reason: /hidden before/,
  },
  {
    name: '.env',
    zip: () => packageWith([{ name: '.env', data: 'DB_PASSWORD=secret' }]),
    exitCode: 21,
    reason: /a file no plugin ships/,
  },
  {
    name: 'root composer.json',
    zip: () => packageWith([{ name: 'composer.json', data: '{}' }]),
    exitCode: 21,
    reason: /a file no plugin ships/,
  },
  {
    name: 'a private key',
    zip: () => packageWith([{ name: 'keys/server.pem', data: '-----BEGIN PRIVATE KEY-----' }]),
    exitCode: 21,
    reason: /a file no plugin ships/,
  },
  {
    name: '.htaccess',
    zip: () => packageWith([{ name: 'assets/.htaccess', data: 'AddType application/x-httpd-php .jpg' }]),
    exitCode: 21,
    reason: /a file no plugin ships/,
  },
  {
    name: '.user.ini',
    zip: () => packageWith([{ name: '.user.ini', data: 'auto_prepend_file=/tmp/x' }]),
    exitCode: 21,
    reason: /a file no plugin ships/,
  },
  {
    name: 'a huge manifest',
    zip: () =>
      packageWith(
        [],
        JSON.stringify({ id: 'demo-plugin', name: 'Demo Plugin', version: '1.0.0', padding: ' '.repeat(1024 * 1024) }),
      ),
    exitCode: 11,
    reason: /manifest\.json is \d+ bytes/,
  },
  {
    name: 'encrypted entry',
    zip: () => packageWith([{ name: 'secret.php', data: 'x', flags: 0x1 }]),
    exitCode: 21,
    reason: /encrypted/,
  },
  {
    name: 'NUL byte in a name',
    zip: () => packageWith([{ name: Buffer.from('evil.php\0.txt', 'latin1'), data: 'x' }]),
    exitCode: 21,
    reason: /control characters/,
  },
  {
    name: 'zip bomb (ratio)',
    zip: () => packageWith([{ name: 'bomb.bin', data: Buffer.alloc(64 * 1024 * 1024) }]),
    exitCode: 21,
    reason: /expands/,
  },
  {
    name: 'size that lies',
    zip: () => packageWith([{ name: 'liar.bin', data: Buffer.alloc(4096, 1), declaredSize: 10 }]),
    exitCode: 21,
    reason: /liar\.bin/,
  },
  {
    name: 'corrupt content (CRC)',
    zip: () => packageWith([{ name: 'bad.php', data: '<?php echo 1;', declaredCrc: 1234 }]),
    exitCode: 21,
    reason: /CRC/,
  },
  {
    name: 'unknown compression method',
    zip: () => packageWith([{ name: 'x.bin', data: 'abc', method: 99 }]),
    exitCode: 21,
    reason: /compression method 99/,
  },
  {
    name: 'not a zip',
    zip: () => Buffer.from('<html>not a zip, an error page from a proxy</html>'.repeat(10)),
    exitCode: 21,
    reason: /not a readable zip/,
  },
  {
    name: 'truncated',
    zip: () => packageWith([{ name: 'big.txt', data: 'abc'.repeat(1000) }]).subarray(0, 400),
    exitCode: 21,
    reason: /not a readable zip/,
  },
  { name: 'under 128 bytes', zip: () => rawZip([{ name: 'm', data: '' }]), exitCode: 21, reason: /128 bytes/ },
  {
    name: 'no manifest at the root',
    zip: () =>
      rawZip([
        { name: 'wrapper/manifest.json', data: MANIFEST() },
        { name: 'wrapper/README.md', data: 'x'.repeat(200) },
      ]),
    exitCode: 11,
    reason: /below the root/,
  },
  {
    name: 'nested second manifest',
    zip: () => packageWith([{ name: 'assets/pwa/manifest.json', data: '{}' }]),
    exitCode: 11,
    reason: /below the root/,
  },
  {
    name: 'manifest for another plugin',
    zip: () => packageWith([], MANIFEST('other-plugin')),
    exitCode: 11,
    reason: /says id "other-plugin"/,
  },
  {
    name: 'manifest with another version',
    zip: () => packageWith([], MANIFEST('demo-plugin', '9.9.9')),
    exitCode: 11,
    reason: /says version 9\.9\.9/,
  },
  {
    name: 'manifest not JSON',
    zip: () => packageWith([], '{ "id": "demo-plugin", '),
    exitCode: 11,
    reason: /not JSON/,
  },
];

/** Packages that must pass: odd but legitimate zips (and what extractors must make of them). */
export const ACCEPTED_ZIPS: Array<{ name: string; zip: () => Buffer }> = [
  {
    name: 'folders and files',
    zip: () =>
      packageWith([
        { name: 'modules/', data: '' },
        { name: 'modules/demo/demo.php', data: '<?php\n' },
      ]),
  },
  {
    name: 'an ASCII name with a Unicode Path field that agrees',
    zip: () =>
      packageWith([
        {
          name: 'modules/demo/demo.php',
          data: '<?php',
          centralExtra: unicodePath('modules/demo/demo.php', 'modules/demo/demo.php'),
        },
      ]),
  },
  {
    name: 'Unix modes on plain files and folders',
    zip: () =>
      packageWith([
        { name: 'bin/', data: '', unixMode: 0o040755 },
        { name: 'bin/tool.php', data: '<?php', unixMode: 0o100644 },
      ]),
  },
  { name: 'made on MS-DOS', zip: () => packageWith([{ name: 'dos.txt', data: 'hello', madeBy: 0 }]) },
  { name: 'an .env example', zip: () => packageWith([{ name: 'config/.env.example', data: 'DB_HOST=' }]) },
  {
    name: 'stored, not deflated',
    zip: () => packageWith([{ name: 'image.png', data: Buffer.alloc(300, 7), method: 0 }]),
  },
];
