import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

// Host secrets at rest: AES-256-GCM under a key from the environment (C2F_SECRET_KEY, 32 bytes in base64
// or hex). Stored as `v1:<base64 iv>:<base64 tag>:<base64 ciphertext>`.

export class SecretKeyError extends Error {}

const OPENED_CACHE_SIZE = 10_000;

export class SecretBox {
  private readonly key: Buffer;
  private readonly keyObject: KeyObject;
  /** Opened secrets by their sealed form: every push opens its host's secret, and secrets rarely change. */
  private readonly opened = new Map<string, string>();
  private readonly macKeys = new Map<string, Buffer>();

  private constructor(key: Buffer) {
    this.key = key;
    this.keyObject = createSecretKey(key);
  }

  static fromEnvironment(value: string | undefined): SecretBox {
    if (!value) {
      throw new SecretKeyError(
        'C2F_SECRET_KEY is not set: host secrets are encrypted with it. Create one with "openssl rand -base64 32" and keep it safe; without it the stored secrets cannot be read',
      );
    }
    const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
    if (key.length !== 32)
      throw new SecretKeyError(`C2F_SECRET_KEY must be 32 bytes (base64 or hex), found ${key.length}`);
    return new SecretBox(key);
  }

  /** An HMAC-SHA256 (base64url) under a key derived from the secret key for one purpose. */
  mac(purpose: string, text: string): string {
    let key = this.macKeys.get(purpose);
    if (!key)
      this.macKeys.set(
        purpose,
        (key = Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `c2f ${purpose}`, 32))),
      );
    return createHmac('sha256', key).update(text).digest('base64url');
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keyObject, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(
      ':',
    );
  }

  open(sealed: string): string {
    const known = this.opened.get(sealed);
    if (known !== undefined) return known;
    const plaintext = this.decrypt(sealed);
    if (this.opened.size >= OPENED_CACHE_SIZE) this.opened.delete(this.opened.keys().next().value!);
    this.opened.set(sealed, plaintext);
    return plaintext;
  }

  private decrypt(sealed: string): string {
    const [version, iv, tag, ciphertext] = sealed.split(':');
    if (version !== 'v1' || !iv || !tag || ciphertext === undefined)
      throw new SecretKeyError('a stored secret is not in the expected format');
    const decipher = createDecipheriv('aes-256-gcm', this.keyObject, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError('a stored secret cannot be decrypted: C2F_SECRET_KEY is not the key it was stored with');
    }
  }
}
