import { stat } from 'node:fs/promises';
import mysql from 'mysql2/promise';
import { runProcess } from './run-process.ts';
import { readSiteDatabase, SiteEnvError, type SiteDatabase } from './site-env.ts';

// The site's database, reached the way the site's own PHP reaches it. Conn2Flow connects with DB_HOST and
// no port; for "localhost" PHP's MySQL drivers use the Unix socket named by mysqli.default_socket (or
// pdo_mysql.default_socket), not TCP, and sites commonly grant their user as 'user'@'localhost' only, which a
// TCP client from 127.0.0.1 does not match. So: the socket PHP uses when DB_HOST is localhost (asked of PHP
// itself; `installer.dbSocket` overrides), TCP port 3306 otherwise (Conn2Flow ignores DB_PORT too).

export interface SiteDatabaseSettings {
  gestorDir: string;
  domain: string | null;
  php: string;
  /** The MariaDB/MySQL socket; default: the one PHP uses. */
  dbSocket: string | null;
}

/** Where sockets usually are, for a PHP that names none. */
const USUAL_SOCKETS = [
  '/run/mysqld/mysqld.sock',
  '/var/run/mysqld/mysqld.sock',
  '/var/lib/mysql/mysql.sock',
  '/tmp/mysql.sock',
];

export class SiteDatabaseError extends Error {}

export class SiteDatabaseClient {
  private readonly settings: SiteDatabaseSettings;
  private socket: Promise<string | null> | undefined;

  constructor(settings: SiteDatabaseSettings) {
    this.settings = settings;
  }

  async query<T>(sql: string, values: unknown[] = []): Promise<T[]> {
    const connection = await this.connect();
    try {
      const [rows] = await connection.query(sql, values);
      return rows as T[];
    } finally {
      await connection.end();
    }
  }

  /** One connection, closed by the caller; every failure is a SiteDatabaseError that names the fix. */
  async connect(): Promise<mysql.Connection> {
    let site: SiteDatabase;
    try {
      site = await readSiteDatabase(this.settings.gestorDir, this.settings.domain);
    } catch (error) {
      if (error instanceof SiteEnvError) throw new SiteDatabaseError(error.message);
      throw error;
    }
    const local = site.host.toLowerCase() === 'localhost';
    const socketPath = local ? await this.socketPath() : null;
    const how = socketPath ? `through the socket ${socketPath}` : `over TCP to ${site.host}:3306`;
    try {
      return await mysql.createConnection({
        ...(socketPath ? { socketPath } : { host: site.host, port: 3306 }),
        user: site.user,
        password: site.password,
        database: site.database,
        connectTimeout: 10_000,
        charset: 'utf8mb4',
      });
    } catch (error) {
      throw new SiteDatabaseError(
        describe(error as NodeJS.ErrnoException & { sqlMessage?: string }, site, how, local, socketPath),
      );
    }
  }

  /** The socket PHP's MySQL drivers use (asked once), else a usual one that exists. */
  private socketPath(): Promise<string | null> {
    this.socket ??= (async () => {
      if (this.settings.dbSocket) return this.settings.dbSocket;
      const asked = await runProcess(
        this.settings.php,
        ['-r', 'echo ini_get("mysqli.default_socket") ?: ini_get("pdo_mysql.default_socket");'],
        { timeoutMs: 10_000 },
      );
      const named = asked.code === 0 ? asked.stdout.trim() : '';
      if (named) return named;
      for (const candidate of USUAL_SOCKETS)
        if ((await stat(candidate).catch(() => undefined))?.isSocket()) return candidate;
      return null;
    })();
    return this.socket;
  }
}

function describe(
  error: NodeJS.ErrnoException & { sqlMessage?: string },
  site: SiteDatabase,
  how: string,
  local: boolean,
  socketPath: string | null,
): string {
  const said = error.sqlMessage ?? error.message;
  if (/ACCESS_DENIED/.test(error.code ?? '')) {
    return (
      `the database refused ${site.user} ${how} (${said}), with the credentials in ${site.envFile}. ` +
      (local
        ? "The site's PHP connects through this socket too: check the password in the .env, or set installer.dbSocket to the socket PHP really uses"
        : `If the site's PHP works, its user may be granted for 'localhost' only: set DB_HOST=localhost in the .env so the agent uses the socket as PHP does, or grant '${site.user}'@'${site.host}'`)
    );
  }
  if (local && socketPath && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'EACCES')) {
    return `cannot reach the database ${how} (${error.code}): set installer.dbSocket to the socket PHP uses (php -r 'echo ini_get("mysqli.default_socket");' prints it)`;
  }
  if (local && !socketPath)
    return `DB_HOST is localhost, so PHP uses a Unix socket, but PHP names none and none of ${USUAL_SOCKETS.join(', ')} exists: set installer.dbSocket`;
  return `cannot reach the database ${how}: ${said}`;
}
