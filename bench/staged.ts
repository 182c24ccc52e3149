// bench/staged: plan a 10,000-host rollout in three waves (canary hosts by label, 10 %, the rest) and start
// wave 1 (its jobs queued for delivery, the others held), against a single INSERT ... SELECT of 10,000 job
// rows on the same database in the same run (median of three each). On PGlite and on PostgreSQL
// (BENCH_DATABASE_URL or TEST_DATABASE_URL, a role that may create databases).
// Goal: within 3x of the single INSERT ... SELECT on PostgreSQL.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startQueue } from '../src/bot/queue.ts';
import { planRollout } from '../src/bot/rollout/resolve-release.ts';
import { parseStrategy } from '../src/bot/rollout/strategy.ts';
import { openPglite, openPostgres, type Database } from '../src/bot/store/database.ts';
import { migrate } from '../src/bot/store/migrate.ts';
import { getRelease, recordReleaseWebhooks, updateRelease } from '../src/bot/store/releases.ts';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 10_000);
const ROUNDS = 3;
const STRATEGY = parseStrategy({
  waves: [{ name: 'canary', labels: ['canary'], errorThreshold: 1 }, { name: 'early', percent: 10 }, { name: 'rest' }],
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function seed(db: Database): Promise<void> {
  await migrate(db);
  // Hosts as the admin API stores them: enrolled, following the plugin; 1 % carry the canary label.
  await db.query(
    `insert into hosts (id, name, url, policy, channel, secret_sealed, enrolled_at, labels)
     select 'host_' || g, 'site ' || g, 'https://site' || g || '.example.com/c2f', 'auto', 'stable', 'sealed', now(),
            case when g % 100 = 0 then array['canary'] else array[]::text[] end
     from generate_series(1, $1) g`,
    [HOSTS],
  );
  // Each round releases a plugin of its own (a rollout planned afresh, nothing of the plugin in flight).
  await db.query(
    "insert into subscriptions (host_id, repository, plugin_id) select 'host_' || g, 'conn2flow/plugins', 'bench-plugin-' || r from generate_series(1, $1) g, generate_series(1, $2) r",
    [HOSTS, ROUNDS],
  );
}

async function release(db: Database, id: number) {
  await recordReleaseWebhooks(db, [
    {
      deliveryId: `bench-${id}`,
      action: 'published',
      release: {
        id,
        repository: 'conn2flow/plugins',
        installationId: 1,
        tag: `plugin-bench-plugin-v1.0.${id}`,
        prerelease: false,
        privateRepository: false,
      },
    },
  ]);
  await updateRelease(db, id, {
    state: 'resolved',
    pluginId: `bench-plugin-${id}`,
    version: '1.0.0',
    zipAssetId: id,
    zipUrl: 'https://github.com/conn2flow/plugins/releases/download/x/gestor-plugin.zip',
    zipSize: 4096,
    zipSha256: 'a'.repeat(64),
    dependencies: [],
  });
  return (await getRelease(db, id))!;
}

async function run(
  label: string,
  db: Database,
): Promise<{ staged: number; insert: number; jobs: number; firstWave: number }> {
  await seed(db);
  const boss = await startQueue(db);
  const staged: number[] = [];
  const inserts: number[] = [];
  let jobs = 0;
  let firstWave = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const resolved = await release(db, round);
    const started = performance.now();
    const rollout = await planRollout({ db, boss }, resolved, STRATEGY);
    staged.push(performance.now() - started);
    jobs = rollout.jobs.length;
    firstWave = rollout.queued.length;

    // The baseline: the same number of job rows, written by one statement.
    const baseline = `ro_baseline_${round}`;
    await db.query(
      "insert into rollouts (id, kind, release_id, repository, plugin_id, version) values ($1, 'rollback', $2, 'conn2flow/plugins', 'bench-plugin', '0')",
      [baseline, resolved.id],
    );
    const before = performance.now();
    await db.query(
      `insert into host_jobs (id, rollout_id, host_id, plugin_id, release_id, action, state, message_id)
       select 'job_b' || $1 || '_' || g, $2, 'host_' || g, 'bench-plugin', $3, 'update', 'queued', 'msg_b' || $1 || '_' || g from generate_series(1, $4) g`,
      [round, baseline, resolved.id, HOSTS],
    );
    inserts.push(performance.now() - before);
  }
  await boss.stop({ graceful: false });
  await db.close();
  console.error(`${label}: done`);
  return { staged: median(staged), insert: median(inserts), jobs, firstWave };
}

const baseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const dir = await mkdtemp(path.join(tmpdir(), 'c2f-bench-staged-'));
const results: Array<[string, Awaited<ReturnType<typeof run>>]> = [];
const engines = (process.env.BENCH_ENGINES ?? 'pglite,postgres').split(',');
if (engines.includes('pglite')) results.push(['PGlite', await run('PGlite', await openPglite(path.join(dir, 'data')))]);
if (baseUrl && engines.includes('postgres')) {
  const name = `c2f_bench_staged_${process.pid}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  results.push(['PostgreSQL', await run('PostgreSQL', openPostgres(url.toString(), 10))]);
  await admin
    .query(`drop database ${name} with (force)`)
    .catch((error) => console.error(`could not drop ${name}: ${error.message}`));
  await admin.end();
} else if (!baseUrl) {
  console.log('PostgreSQL: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)');
}
for (const [label, r] of results) {
  const ratio = r.staged / r.insert;
  console.log(
    `${label}: plan ${r.jobs} jobs in 3 waves and start wave 1 (${r.firstWave} queued): ${r.staged.toFixed(0)} ms (median of ${ROUNDS}); one INSERT ... SELECT of ${HOSTS} job rows: ${r.insert.toFixed(0)} ms; ratio ${ratio.toFixed(2)}${label === 'PostgreSQL' ? ` (goal <= 3: ${ratio <= 3 ? 'met' : 'missed'})` : ''}`,
  );
}
await rm(dir, { recursive: true, force: true });
process.exit(0);
