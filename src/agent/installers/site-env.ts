import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

// The site's database credentials, from the same .env Conn2Flow reads: gestor/autenticacoes/<domain>/.env.
// In CLI Conn2Flow uses "localhost", else the first folder there; so do we unless told a domain.

export interface SiteDatabase {
  host: string;
  database: string;
  user: string;
  password: string;
  envFile: string;
}

export class SiteEnvError extends Error {}

export async function readSiteDatabase(gestorDir: string, domain: string | null): Promise<SiteDatabase> {
  const base = path.join(gestorDir, 'autenticacoes');
  let folder = domain;
  if (!folder) {
    const names = (await readdir(base, { withFileTypes: true }).catch(() => []))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    folder = names.includes('localhost') ? 'localhost' : names[0];
  }
  if (!folder)
    throw new SiteEnvError(
      `no site folder under ${base}: Conn2Flow reads its database settings from autenticacoes/<domain>/.env`,
    );
  const envFile = path.join(base, folder, '.env');
  let text: string;
  try {
    text = await readFile(envFile, 'utf8');
  } catch (error) {
    throw new SiteEnvError(`cannot read ${envFile}: ${(error as Error).message}`);
  }
  const env = parseDotenv(text);
  const missing = ['DB_HOST', 'DB_DATABASE', 'DB_USERNAME'].filter((key) => !env[key]);
  if (missing.length) throw new SiteEnvError(`${envFile} does not set ${missing.join(', ')}`);
  // DB_PORT is deliberately ignored: Conn2Flow's $_BANCO has no port and phinx.php uses 3306.
  return {
    host: env.DB_HOST,
    database: env.DB_DATABASE,
    user: env.DB_USERNAME,
    password: env.DB_PASSWORD ?? '',
    envFile,
  };
}

/** KEY=value lines as phpdotenv reads the common cases: comments, export, single and double quotes. */
export function parseDotenv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    let value = match[2];
    if (/^"(.*)"$/.test(value))
      value = value.slice(1, -1).replace(/\\(["\\n])/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    else if (/^'(.*)'$/.test(value)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    env[match[1]] = value;
  }
  return env;
}
