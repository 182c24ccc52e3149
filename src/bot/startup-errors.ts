import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BotConfigError } from './config.ts';
import { networkErrorInWords } from '../network-errors.ts';

// Start-up failures a user causes, as one line each: a database the bot cannot reach is 69 ("a service
// it needs is unavailable"), a database that refuses the bot's credentials or a private key file it cannot
// read is configuration (78).

export class BotUnavailableError extends Error {}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied (the bot cannot read it)',
  EISDIR: 'a folder, not a file',
};

/** The App's private key from PRIVATE_KEY_PATH, read now so that a missing or unreadable file is one line. */
export function checkPrivateKeyFile(env: NodeJS.ProcessEnv): void {
  if (env.PRIVATE_KEY || !env.PRIVATE_KEY_PATH) return;
  const file = path.resolve(env.PRIVATE_KEY_PATH);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new BotConfigError(
      `PRIVATE_KEY_PATH ${file}: ${FILE_ERRORS[code] ?? (error as Error).message}; it is the GitHub App's private key (.pem), which setup mode writes`,
    );
  }
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(text))
    throw new BotConfigError(
      `PRIVATE_KEY_PATH ${file} is not a PEM private key (the .pem file GitHub gives for the App)`,
    );
}

/** Probot's own private-key complaints (PRIVATE_KEY that is not a key), without its prefix. */
export function privateKeyError(error: unknown): BotConfigError | undefined {
  const message = (error as Error)?.message ?? '';
  if (!message.startsWith('[@probot/get-private-key]')) return undefined;
  return new BotConfigError(
    message.replace('[@probot/get-private-key] ', '').replace('"env.PRIVATE_KEY"', 'PRIVATE_KEY'),
  );
}

const CREDENTIAL_STATES = new Set(['28P01', '28000']);
const MISSING_DATABASE = '3D000';

/** A database failure at start-up, as the error the user can act on (undefined: not one of those). */
export function databaseStartError(error: unknown, databaseUrl: string | undefined): Error | undefined {
  if (!databaseUrl) return undefined;
  const e = error as { code?: string; message?: string; errors?: Array<{ code?: string }> };
  const code = e.code ?? e.errors?.[0]?.code;
  let where = 'DATABASE_URL';
  try {
    const url = new URL(databaseUrl);
    where = `the database at ${url.host}${url.pathname} (DATABASE_URL)`;
  } catch {}
  if (code && CREDENTIAL_STATES.has(code))
    return new BotConfigError(
      `${where} refused the bot's user: ${e.message}; check the user and password in DATABASE_URL`,
    );
  if (code === MISSING_DATABASE) return new BotConfigError(`${where}: ${e.message}; create it, or fix DATABASE_URL`);
  if (code && /^(E[A-Z]+|UND_ERR_.*)$/.test(code))
    return new BotUnavailableError(
      `cannot reach ${where}: ${networkErrorInWords(code, code)}; is PostgreSQL running, and is DATABASE_URL right?`,
    );
  if (/Connection terminated|timeout expired/i.test(e.message ?? ''))
    return new BotUnavailableError(
      `cannot reach ${where}: ${e.message}; is PostgreSQL running, and is DATABASE_URL right?`,
    );
  return undefined;
}
