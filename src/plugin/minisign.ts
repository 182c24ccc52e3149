import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  scryptSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';

// Publisher signatures in minisign's format (https://jedisct1.github.io/minisign/), so that `minisign -V`
// verifies ours and we verify its: Ed25519 over the BLAKE2b-512 hash of the file ("prehashed", algorithm
// "ED"), and a second signature over that signature and a trusted comment, which names what was signed. Keys
// and signatures are base64 lines under an untrusted comment. A secret key is sealed with a password through
// scrypt (libsodium's parameters, the ones minisign writes), or kept in the clear (minisign -W).

export class MinisignError extends Error {}

const PUBLIC_KEY_BYTES = 42; // "Ed" + key id (8) + Ed25519 public key (32)
const SIGNATURE_BYTES = 74; // "ED" or "Ed" + key id (8) + signature (64)
const SECRET_KEY_BYTES = 158;
/** libsodium's crypto_pwhash_scryptsalsa208sha256 "sensitive" limits, which minisign writes. */
export const SENSITIVE = { opslimit: 33_554_432, memlimit: 1_073_741_824 };

export interface PublicKey {
  /** 8 bytes, as minisign stores them. */
  keyId: Buffer;
  key: KeyObject;
}

export interface SecretKey extends PublicKey {
  privateKey: KeyObject;
}

export interface Signature {
  keyId: Buffer;
  prehashed: boolean;
  signature: Buffer;
  trustedComment: string;
  globalSignature: Buffer;
}

/** The key id as minisign prints it: the 8 bytes read as a little-endian number, in upper-case hex. */
export function keyIdText(keyId: Buffer): string {
  return Buffer.from(keyId).reverse().toString('hex').toUpperCase();
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

const publicKeyOf = (raw: Buffer) =>
  createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
const rawPublic = (key: KeyObject) => key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);
const rawSeed = (key: KeyObject) => key.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519.length);

export function generateKey(): SecretKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId: randomBytes(8), key: publicKey, privateKey };
}

function lines(text: string, what: string): string[] {
  const found = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (found.length > 16 || text.length > 16_384) throw new MinisignError(`${what} is too long to be one`);
  return found;
}

function base64(text: string | undefined, bytes: number, what: string): Buffer {
  const decoded = Buffer.from(text?.trim() ?? '', 'base64');
  if (!text || !/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim()) || decoded.length !== bytes)
    throw new MinisignError(`${what} is not a minisign ${what.split(' ').at(-1)}`);
  return decoded;
}

export function formatPublicKey(key: PublicKey): string {
  const raw = Buffer.concat([Buffer.from('Ed'), key.keyId, rawPublic(key.key)]);
  return `untrusted comment: minisign public key ${keyIdText(key.keyId)}\n${raw.toString('base64')}\n`;
}

/** A public key file, or its base64 line alone (as `minisign -P` takes it). */
export function parsePublicKey(text: string): PublicKey {
  const found = lines(text, 'the public key');
  const line = found.find((l) => !l.startsWith('untrusted comment:'));
  const raw = base64(line, PUBLIC_KEY_BYTES, 'the public key');
  if (raw.subarray(0, 2).toString() !== 'Ed') throw new MinisignError('the public key is not an Ed25519 minisign key');
  return { keyId: raw.subarray(2, 10), key: publicKeyOf(raw.subarray(10)) };
}

/** libsodium's pickparams: scrypt's N, r and p from opslimit and memlimit. */
function scryptParams(opslimit: number, memlimit: number): { N: number; r: number; p: number } {
  const ops = Math.max(opslimit, 32_768);
  const r = 8;
  let nLog2 = 1;
  if (ops < memlimit / 32) {
    const maxN = ops / (r * 4);
    while (nLog2 < 63 && 2 ** nLog2 <= maxN / 2) nLog2++;
    return { N: 2 ** nLog2, r, p: 1 };
  }
  const maxN = memlimit / (r * 128);
  while (nLog2 < 63 && 2 ** nLog2 <= maxN / 2) nLog2++;
  const maxrp = Math.min(Math.floor(ops / 4 / 2 ** nLog2), 0x3fffffff);
  return { N: 2 ** nLog2, r, p: Math.max(1, Math.floor(maxrp / r)) };
}

function keystream(password: string, salt: Buffer, opslimit: number, memlimit: number, length: number): Buffer {
  const { N, r, p } = scryptParams(opslimit, memlimit);
  return scryptSync(password, salt, length, { N, r, p, maxmem: 128 * r * N + 64 * 1024 * 1024 });
}

const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((byte, i) => byte ^ b[i]));

/** A secret key file; with a password it is sealed as minisign seals it, without one it is kept in the clear. */
export function formatSecretKey(key: SecretKey, password?: string, limits = SENSITIVE): string {
  const seed = rawSeed(key.privateKey);
  const sk = Buffer.concat([seed, rawPublic(key.key)]);
  const algorithm = Buffer.from('Ed');
  const checksum = Buffer.from(blake2b(Buffer.concat([algorithm, key.keyId, sk]), { dkLen: 32 }));
  let keynumSk = Buffer.concat([key.keyId, sk, checksum]);
  const salt = randomBytes(32);
  if (password) keynumSk = xor(keynumSk, keystream(password, salt, limits.opslimit, limits.memlimit, keynumSk.length));
  const le64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  const raw = Buffer.concat([
    algorithm,
    password ? Buffer.from('Sc') : Buffer.alloc(2),
    Buffer.from('B2'),
    salt,
    le64(password ? limits.opslimit : 0),
    le64(password ? limits.memlimit : 0),
    keynumSk,
  ]);
  return `untrusted comment: ${password ? 'minisign encrypted secret key' : 'minisign secret key (not encrypted)'}\n${raw.toString('base64')}\n`;
}

/** Whether a secret key file is sealed with a password. */
export function isEncrypted(text: string): boolean {
  const raw = base64(
    lines(text, 'the secret key').find((l) => !l.startsWith('untrusted comment:')),
    SECRET_KEY_BYTES,
    'the secret key',
  );
  return raw.subarray(2, 4).toString() === 'Sc';
}

export function parseSecretKey(text: string, password?: string): SecretKey {
  const raw = base64(
    lines(text, 'the secret key').find((l) => !l.startsWith('untrusted comment:')),
    SECRET_KEY_BYTES,
    'the secret key',
  );
  if (raw.subarray(0, 2).toString() !== 'Ed' || raw.subarray(4, 6).toString() !== 'B2')
    throw new MinisignError('the secret key is not an Ed25519 minisign key');
  const kdf = raw.subarray(2, 4).toString('latin1');
  let keynumSk = raw.subarray(54);
  if (kdf === 'Sc') {
    if (!password) throw new MinisignError('the secret key is encrypted: a password is needed');
    const opslimit = Number(raw.readBigUInt64LE(38));
    const memlimit = Number(raw.readBigUInt64LE(46));
    if (memlimit > 2 ** 31) throw new MinisignError('the secret key asks for more than 2 GiB to open');
    keynumSk = xor(keynumSk, keystream(password, raw.subarray(6, 38), opslimit, memlimit, keynumSk.length));
  } else if (kdf !== '\0\0') {
    throw new MinisignError('the secret key uses an unknown key derivation');
  }
  const keyId = keynumSk.subarray(0, 8);
  const sk = keynumSk.subarray(8, 72);
  const checksum = Buffer.from(blake2b(Buffer.concat([Buffer.from('Ed'), keyId, sk]), { dkLen: 32 }));
  // minisign writes no checksum into a key it keeps in the clear (-W): all zeros.
  const stored = keynumSk.subarray(72, 104);
  const unchecked = kdf !== 'Sc' && stored.every((byte) => byte === 0);
  if (!unchecked && !checksum.equals(stored))
    throw new MinisignError(kdf === 'Sc' ? 'wrong password for the secret key' : 'the secret key is damaged');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, sk.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8',
  });
  return { keyId: Buffer.from(keyId), key: publicKeyOf(sk.subarray(32)), privateKey };
}

/** Signs a file's BLAKE2b-512 hash (`fileHash`, from blake2bOfFile or hashBytes) with a trusted comment. */
export function signHash(
  key: SecretKey,
  fileHash: Buffer,
  trustedComment: string,
  untrustedComment = 'signature from c2f-plugin secret key',
): string {
  if (/[\r\n]/.test(trustedComment) || /[\r\n]/.test(untrustedComment))
    throw new MinisignError('a comment is one line');
  const signature = sign(null, fileHash, key.privateKey);
  const globalSignature = sign(null, Buffer.concat([signature, Buffer.from(trustedComment)]), key.privateKey);
  const line = Buffer.concat([Buffer.from('ED'), key.keyId, signature]).toString('base64');
  return `untrusted comment: ${untrustedComment}\n${line}\ntrusted comment: ${trustedComment}\n${globalSignature.toString('base64')}\n`;
}

export function hashBytes(bytes: Buffer): Buffer {
  return createHash('blake2b512').update(bytes).digest();
}

export function parseSignature(text: string): Signature {
  const found = lines(text, 'the signature');
  const [, line, comment, global] = found;
  if (!found[0]?.startsWith('untrusted comment:') || !comment?.startsWith('trusted comment: '))
    throw new MinisignError('the signature is not in minisign format');
  const raw = base64(line, SIGNATURE_BYTES, 'the signature');
  const algorithm = raw.subarray(0, 2).toString();
  if (algorithm !== 'ED' && algorithm !== 'Ed') throw new MinisignError('the signature uses an unknown algorithm');
  return {
    keyId: raw.subarray(2, 10),
    prehashed: algorithm === 'ED',
    signature: raw.subarray(10),
    trustedComment: comment.slice('trusted comment: '.length),
    globalSignature: base64(global, 64, 'the global signature'),
  };
}

export type Verification = { ok: true; keyId: string; trustedComment: string } | { ok: false; reason: string };

/**
 * Checks a signature against the file it is for (its BLAKE2b-512 hash, or its bytes for a legacy signature)
 * and the public keys trusted for it; the trusted comment counts only when its own signature verifies.
 */
export function verifySignature(
  text: string,
  keys: readonly PublicKey[],
  file: { hash: Buffer; bytes?: () => Buffer },
): Verification {
  let parsed: Signature;
  try {
    parsed = parseSignature(text);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  const key = keys.find((k) => k.keyId.equals(parsed.keyId));
  if (!key) return { ok: false, reason: `signed by key ${keyIdText(parsed.keyId)}, which is not trusted here` };
  const message = parsed.prehashed ? file.hash : file.bytes?.();
  if (!message) return { ok: false, reason: 'a legacy (not prehashed) signature needs the whole file' };
  if (!verify(null, message, key.key, parsed.signature))
    return { ok: false, reason: `the signature by key ${keyIdText(parsed.keyId)} does not match the file` };
  if (
    !verify(
      null,
      Buffer.concat([parsed.signature, Buffer.from(parsed.trustedComment)]),
      key.key,
      parsed.globalSignature,
    )
  )
    return { ok: false, reason: 'the trusted comment was changed after signing' };
  return { ok: true, keyId: keyIdText(parsed.keyId), trustedComment: parsed.trustedComment };
}
