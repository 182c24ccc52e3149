import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { openPglite, openPostgres, PGLITE_SHARED_BUFFERS } from '../../src/bot/store/database.ts';
import {
  EnrollmentError,
  addHost,
  createEnrollment,
  enroll,
  finishRotation,
  getHost,
  hostSecrets,
  listHosts,
  removeHost,
  rotateSecret,
} from '../../src/bot/store/hosts.ts';
import { migrate } from '../../src/bot/store/migrate.ts';
import { MIGRATIONS } from '../../src/bot/store/schema.ts';
import { SecretBox, SecretKeyError } from '../../src/bot/store/secret-box.ts';
import { REPO, waitFor } from '../helpers.ts';
import { ENGINES, freshDatabase, freshPgliteFolder, freshPostgresUrl, testBox, testDatabaseUrl } from './databases.ts';

const plugins = [{ repository: 'conn2flow/plugins', pluginId: 'test-plugin-public' }];

for (const engine of ENGINES) {
  test(`${engine}: hosts are added, listed, rotated and removed; secrets are sealed at rest`, async () => {
    const db = await freshDatabase(engine);
    const { host, secret } = await addHost(db, testBox, {
      name: 'site-a',
      url: 'https://a.example.com/c2f',
      policy: 'auto',
      channel: 'stable',
      plugins,
    });
    assert.match(host.id, /^host_[0-9a-f]{8}$/);
    assert.deepEqual(
      [host.name, host.url, host.policy, host.channel, host.enabled, host.enrolled],
      ['site-a', 'https://a.example.com/c2f', 'auto', 'stable', true, true],
    );
    assert.deepEqual(host.plugins, plugins);
    const [raw] = await db.query<{ secret_sealed: string }>('select secret_sealed from hosts where id = $1', [host.id]);
    assert.ok(!raw.secret_sealed.includes(secret.slice(6)), 'the secret is not stored in clear');
    assert.deepEqual(await hostSecrets(db, testBox, host.id), [secret]);

    const rotated = await rotateSecret(db, testBox, host.id);
    assert.deepEqual(
      await hostSecrets(db, testBox, host.id),
      [rotated, secret],
      'both secrets are valid during a rotation',
    );
    await finishRotation(db, host.id);
    assert.deepEqual(await hostSecrets(db, testBox, host.id), [rotated]);

    await addHost(db, testBox, {
      name: 'site-b',
      url: 'https://b.example.com',
      policy: 'manual',
      channel: 'prerelease',
      plugins: [],
    });
    assert.deepEqual(
      (await listHosts(db)).map((h) => h.name),
      ['site-a', 'site-b'],
    );
    assert.equal(await removeHost(db, host.id), true);
    assert.equal(await removeHost(db, host.id), false);
    assert.equal(await getHost(db, host.id), undefined);
  });

  test(`${engine}: an enrollment token works once, and not after it expires`, async () => {
    const db = await freshDatabase(engine);
    const { host, token } = await createEnrollment(db, {
      name: 'nat-site',
      policy: 'notify',
      channel: 'stable',
      plugins,
    });
    assert.equal(host.enrolled, false);
    const { hostId, secret } = await enroll(db, testBox, token, null, '0.1.0');
    assert.equal(hostId, host.id);
    assert.deepEqual(await hostSecrets(db, testBox, hostId), [secret]);
    assert.equal((await getHost(db, hostId))!.enrolled, true);
    await assert.rejects(
      enroll(db, testBox, token, null, '0.1.0'),
      (e: unknown) => e instanceof EnrollmentError && /used already/.test(e.message),
    );
    await assert.rejects(enroll(db, testBox, 'c2fenroll_nope', null, '0.1.0'), /unknown enrollment token/);
    const expired = await createEnrollment(db, { name: 'late', policy: 'auto', channel: 'stable', plugins: [] }, -1000);
    await assert.rejects(enroll(db, testBox, expired.token, null, '0.1.0'), /expired/);
  });
}

test('migrations run once, also when two processes start together on one PostgreSQL', async () => {
  const url = await freshPostgresUrl({ empty: true });
  const [a, b] = [openPostgres(url, 2), openPostgres(url, 2)];
  const [first, second] = await Promise.all([migrate(a), migrate(b)]);
  assert.deepEqual(
    [...first, ...second].sort((x, y) => x - y),
    MIGRATIONS.map((m) => m.version),
    'each migration applied by exactly one of them',
  );
  assert.deepEqual(await migrate(a), []);
  await Promise.all([a.close(), b.close()]);
});

test('a second process cannot open the same PGlite folder; a stale lock is taken over', async () => {
  const dir = await freshPgliteFolder();
  const db = await openPglite(dir);
  const script = `import { openPglite } from ${JSON.stringify(path.resolve('src/bot/store/database.ts'))};\ntry { await openPglite(${JSON.stringify(dir)}); console.log('opened'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => child.on('close', resolve));
  assert.match(
    out,
    /DataFolderLockedError: the data folder .* is in use by another bot process \(pid \d+\).*use PostgreSQL \(DATABASE_URL\)/,
  );
  await assert.rejects(openPglite(dir), /already open in this process/);
  await db.close();
  await (await import('node:fs/promises')).writeFile(path.join(dir, 'c2f-bot.lock'), '999999\n'); // a process that is gone
  const reopened = await openPglite(dir);
  assert.equal(Number((await readFile(path.join(dir, 'c2f-bot.lock'), 'utf8')).trim()), process.pid);
  // Started with a store's share of shared buffers, not the server default of 128 MB (see openPglite).
  assert.deepEqual(await reopened.query("select current_setting('shared_buffers') as value"), [
    { value: PGLITE_SHARED_BUFFERS },
  ]);
  await reopened.close();
});

test('the secret key must be 32 bytes, and a wrong key cannot open sealed secrets', () => {
  assert.throws(
    () => SecretBox.fromEnvironment(undefined),
    (e: unknown) => e instanceof SecretKeyError && /openssl rand -base64 32/.test(e.message),
  );
  assert.throws(() => SecretBox.fromEnvironment('c2hvcnQ='), /must be 32 bytes/);
  const sealed = testBox.seal('whsec_abc');
  assert.equal(testBox.open(sealed), 'whsec_abc');
  assert.throws(() => SecretBox.fromEnvironment('ab'.repeat(32)).open(sealed), /not the key it was stored with/);
});

test('a connection its owner let go of, which the server then terminates, does not end a bot process: its error is reported', async () => {
  const url = await freshPostgresUrl();
  // What the queue's LISTEN connection does after a heartbeat times out: listeners removed, the client not yet
  // ended, and then the server's FATAL (here an administrator's terminate; a restart sends the same).
  const script = (guarded: boolean) => `import pg from 'pg';
    import { openPostgres } from ${JSON.stringify(path.resolve('src/bot/store/database.ts'))};
    const url = ${JSON.stringify(url)};
    const reported = new Promise((resolve) => ${guarded} ? openPostgres(url, 1, (e) => resolve(e.code)) : setTimeout(resolve, 60000));
    const orphan = new pg.Client({ connectionString: url });
    await orphan.connect();
    const { rows: [{ pid }] } = await orphan.query('select pg_backend_pid() as pid');
    orphan.removeAllListeners();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    console.log('reported ' + (await reported));
    process.exit(0);`;
  const runScript = async (guarded: boolean) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script(guarded)], { cwd: REPO });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    return { code, out };
  };
  const unguarded = await runScript(false);
  assert.equal(unguarded.code, 1, 'without a database opened here, node-postgres ends the process');
  assert.match(unguarded.out, /terminating connection due to administrator command/);
  const guarded = await runScript(true);
  assert.deepEqual([guarded.code, guarded.out.trim()], [0, 'reported 57P01']);
});

test('a connection PostgreSQL drops inside a transaction fails that transaction, not the process; the next one reconnects', async () => {
  const url = await freshPostgresUrl();
  const lost: string[] = [];
  const db = openPostgres(url, 2, (error) => lost.push(error.message));
  const admin = openPostgres(testDatabaseUrl(), 1);
  try {
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    const transaction = db.transaction(async (tx) => {
      const [{ pid }] = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
      // The client is checked out and idle when the server ends its connection (as a restart does).
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await paused;
      return tx.query('select 1');
    });
    await waitFor(() => lost.length > 0, 'the dropped connection to be noticed');
    release();
    await assert.rejects(transaction, /terminat|Connection/i);
    assert.deepEqual(await db.query('select 1 as one'), [{ one: 1 }], 'the pool reconnects');
    assert.equal(await db.transaction(async (tx) => (await tx.query<{ n: number }>('select 2 as n'))[0].n), 2);
  } finally {
    await admin.close();
    await db.close();
  }
});
