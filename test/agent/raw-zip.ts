import { crc32, deflateRawSync } from 'node:zlib';

// A zip writer for tests that does exactly what it is told, including what no sane writer would: names with
// "..", backslashes or NUL, symlink modes, encryption flags, sizes and CRCs that lie.

export interface RawEntry {
  name: string | Buffer;
  data?: Buffer | string;
  method?: 0 | 8 | number;
  flags?: number;
  /** Unix mode (high 16 bits of the external attributes); made-by is Unix when set. */
  unixMode?: number;
  declaredSize?: number;
  declaredCrc?: number;
}

export function rawZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.isBuffer(entry.name) ? entry.name : Buffer.from(entry.name, 'utf8');
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data ?? '', 'utf8');
    const method = entry.method ?? 8;
    const stored = method === 8 ? deflateRawSync(data) : data;
    const crc = entry.declaredCrc ?? crc32(data);
    const size = entry.declaredSize ?? data.length;
    const flags = (entry.flags ?? 0) | 0x800;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, stored);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(entry.unixMode !== undefined ? (3 << 8) | 20 : 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(entry.unixMode !== undefined ? ((entry.unixMode << 16) >>> 0) : 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + stored.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

export const MANIFEST = (id = 'demo-plugin', version = '1.0.0') => JSON.stringify({ id, name: 'Demo Plugin', version }, null, 4);
/** Filler so a package clears Conn2Flow's 128-byte minimum. */
const README = 'A plugin used by the tests. '.repeat(8);

/** A well-formed package, plus whatever hostile entries are added. */
export function packageWith(extra: RawEntry[], manifest = MANIFEST()): Buffer {
  return rawZip([{ name: 'manifest.json', data: manifest }, { name: 'README.md', data: README }, ...extra]);
}

/** The hostile corpus: each one must be refused, with the reason's keyword and the exit code. */
export const HOSTILE_ZIPS: Array<{ name: string; zip: () => Buffer; exitCode: 21 | 11; reason: RegExp }> = [
  { name: 'parent traversal', zip: () => packageWith([{ name: '../../etc/cron.d/evil', data: 'x' }]), exitCode: 21, reason: /climbs out/ },
  { name: 'traversal in the middle', zip: () => packageWith([{ name: 'modules/../../../var/www/shell.php', data: '<?php' }]), exitCode: 21, reason: /climbs out/ },
  { name: 'absolute path', zip: () => packageWith([{ name: '/etc/passwd', data: 'root' }]), exitCode: 21, reason: /absolute path/ },
  { name: 'drive letter', zip: () => packageWith([{ name: 'C:/Windows/evil.dll', data: 'x' }]), exitCode: 21, reason: /drive letter/ },
  { name: 'backslash traversal', zip: () => packageWith([{ name: '..\\..\\evil.php', data: 'x' }]), exitCode: 21, reason: /backslash/ },
  { name: 'symbolic link', zip: () => packageWith([{ name: 'link', data: '/etc/shadow', method: 0, unixMode: 0o120777 }]), exitCode: 21, reason: /symbolic link/ },
  { name: 'duplicate names', zip: () => packageWith([{ name: 'a.php', data: '1' }, { name: 'a.php', data: '2' }]), exitCode: 21, reason: /twice/ },
  { name: 'names differing in case', zip: () => packageWith([{ name: 'Controller.php', data: '1' }, { name: 'controller.php', data: '2' }]), exitCode: 21, reason: /letter case/ },
  { name: 'encrypted entry', zip: () => packageWith([{ name: 'secret.php', data: 'x', flags: 0x1 }]), exitCode: 21, reason: /encrypted/ },
  { name: 'NUL byte in a name', zip: () => packageWith([{ name: Buffer.from('evil.php\0.txt', 'latin1'), data: 'x' }]), exitCode: 21, reason: /control characters/ },
  { name: 'zip bomb (ratio)', zip: () => packageWith([{ name: 'bomb.bin', data: Buffer.alloc(64 * 1024 * 1024) }]), exitCode: 21, reason: /expands/ },
  { name: 'size that lies', zip: () => packageWith([{ name: 'liar.bin', data: Buffer.alloc(4096, 1), declaredSize: 10 }]), exitCode: 21, reason: /liar\.bin/ },
  { name: 'corrupt content (CRC)', zip: () => packageWith([{ name: 'bad.php', data: '<?php echo 1;', declaredCrc: 1234 }]), exitCode: 21, reason: /CRC/ },
  { name: 'unknown compression method', zip: () => packageWith([{ name: 'x.bin', data: 'abc', method: 99 }]), exitCode: 21, reason: /compression method 99/ },
  { name: 'not a zip', zip: () => Buffer.from('<html>not a zip, an error page from a proxy</html>'.repeat(10)), exitCode: 21, reason: /not a readable zip/ },
  { name: 'truncated', zip: () => packageWith([{ name: 'big.txt', data: 'abc'.repeat(1000) }]).subarray(0, 400), exitCode: 21, reason: /not a readable zip/ },
  { name: 'under 128 bytes', zip: () => rawZip([{ name: 'm', data: '' }]), exitCode: 21, reason: /128 bytes/ },
  { name: 'no manifest at the root', zip: () => rawZip([{ name: 'wrapper/manifest.json', data: MANIFEST() }, { name: 'wrapper/README.md', data: 'x'.repeat(200) }]), exitCode: 11, reason: /below the root/ },
  { name: 'nested second manifest (trap 12)', zip: () => packageWith([{ name: 'assets/pwa/manifest.json', data: '{}' }]), exitCode: 11, reason: /below the root/ },
  { name: 'manifest for another plugin', zip: () => packageWith([], MANIFEST('other-plugin')), exitCode: 11, reason: /says id "other-plugin"/ },
  { name: 'manifest with another version', zip: () => packageWith([], MANIFEST('demo-plugin', '9.9.9')), exitCode: 11, reason: /says version 9\.9\.9/ },
  { name: 'manifest not JSON', zip: () => packageWith([], '{ "id": "demo-plugin", '), exitCode: 11, reason: /not JSON/ },
];
