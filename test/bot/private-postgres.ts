import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../e2e/bundle.ts';

// A PostgreSQL server of a test's own, so the test may restart it (the shared one serves other test files at
// the same time): initdb into a temporary folder and pg_ctl, as the postgres user (PostgreSQL refuses to run as
// root), on a free port of 127.0.0.1 with trust authentication.

export interface PrivatePostgres {
  url: string;
  restart(): void;
  stop(): Promise<void>;
}

function asPostgres(command: string): void {
  const result = spawnSync('su', ['postgres', '-c', command], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command}: ${result.stderr || result.stdout}`);
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = path.join('/usr/lib/postgresql', (await readdir('/usr/lib/postgresql')).sort().at(-1)!, 'bin');
  const dir = await mkdtemp(path.join(tmpdir(), 'c2f-private-pg-'));
  await chmod(dir, 0o755);
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  await chown(dir, id('-u'), id('-g'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  asPostgres(`${bin}/initdb -D ${data} -A trust -U postgres >/dev/null`);
  const ctl = (action: string) =>
    asPostgres(
      `${bin}/pg_ctl -D ${data} -l ${dir}/log -w -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1" ${action} >/dev/null`,
    );
  ctl('start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () => ctl('restart -m fast'),
    async stop() {
      try {
        ctl('stop -m immediate');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
