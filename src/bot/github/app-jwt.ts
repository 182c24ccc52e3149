import { createPrivateKey, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';

// The JSON web token a GitHub App authenticates as itself with (RS256, issued by its id, ten minutes at most),
// and its private key read from PRIVATE_KEY (PEM, escaped newlines, or base64) or PRIVATE_KEY_PATH, as
// Probot reads them.

export async function readAppPrivateKey(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.PRIVATE_KEY) {
    const value = env.PRIVATE_KEY.includes('-----BEGIN')
      ? env.PRIVATE_KEY.replace(/\\n/g, '\n')
      : Buffer.from(env.PRIVATE_KEY, 'base64').toString('utf8');
    return value;
  }
  if (env.PRIVATE_KEY_PATH) return await readFile(env.PRIVATE_KEY_PATH, 'utf8');
  throw new Error('neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set');
}

export function appJwt(appId: string, privateKeyPem: string, now = Date.now()): string {
  const seconds = Math.floor(now / 1000);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iat: seconds - 60, exp: seconds + 540, iss: appId })}`;
  const signature = sign('sha256', Buffer.from(unsigned), createPrivateKey(privateKeyPem)).toString('base64url');
  return `${unsigned}.${signature}`;
}
