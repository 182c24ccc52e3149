import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateHold, type HoldContext } from '../../src/bot/rollout/holds.ts';
import { parseWindow } from '../../src/bot/rollout/maintenance-windows.ts';
import { assignWaves, errorThresholdReached, parseStrategy } from '../../src/bot/rollout/strategy.ts';

// The strategy as written in .github/conn2flow-release.yml, hosts put in waves the same way every time, and
// what holds a job whose wave has started.

test('a strategy is read with its defaults, and each mistake names the key and what it wants', () => {
  const strategy = parseStrategy({
    waves: [
      { name: 'canary', labels: ['canary'], errorThreshold: 1, soak: '30m' },
      { name: 'early', percent: '10%', errorThreshold: '20%', successThreshold: '90%', approval: 'required' },
      { percent: 100 },
    ],
    onHalt: 'rollback',
    minReleaseAge: '2h',
  });
  assert.deepEqual(strategy.waves[0], {
    name: 'canary',
    labels: ['canary'],
    percent: null,
    successPercent: 100,
    errorThreshold: { kind: 'count', value: 1 },
    soakSeconds: 1800,
    approvalRequired: false,
  });
  assert.equal(strategy.waves[1].approvalRequired, true);
  assert.deepEqual(strategy.waves[1].errorThreshold, { kind: 'percent', value: 20 });
  assert.equal(strategy.waves[1].successPercent, 90);
  assert.equal(strategy.waves[2].name, 'wave 3');
  assert.deepEqual([strategy.rollbackOnHalt, strategy.minReleaseAgeSeconds], [true, 7200]);
  assert.deepEqual(parseStrategy(undefined), { waves: [], rollbackOnHalt: false, minReleaseAgeSeconds: 0 });
  assert.throws(() => parseStrategy({ waves: [{ percent: 150 }] }), {
    message: /rollout\.waves\[0\]\.percent must be a percentage/,
  });
  assert.throws(() => parseStrategy({ waves: [{ errorThreshold: 0 }] }), {
    message: /errorThreshold must be a number of jobs \(1 to 1000000\) or a percentage/,
  });
  assert.throws(() => parseStrategy({ waves: [{ soak: 'a while' }] }), { message: /soak must be a duration like 45s/ });
  // Numbers past what a date can hold are refused where the strategy is read, not when a date is computed.
  assert.throws(() => parseStrategy({ waves: [{ soak: 1.0e308 }] }), {
    message: /rollout\.waves\[0\]\.soak must be at most 366d/,
  });
  assert.throws(() => parseStrategy({ minReleaseAge: 1.0e300 }), {
    message: /rollout\.minReleaseAge must be at most 366d/,
  });
  assert.throws(() => parseStrategy({ minReleaseAge: '400d' }), { message: /at most 366d/ });
  assert.throws(() => parseStrategy({ waves: [{ errorThreshold: 1e20 }] }), { message: /1 to 1000000/ });
  assert.equal(parseStrategy({ minReleaseAge: '366d' }).minReleaseAgeSeconds, 366 * 86400);
  assert.throws(() => parseStrategy({ waves: [{ labels: ['Canary!'] }] }), { message: /"Canary!" is not a label/ });
  assert.throws(() => parseStrategy({ waves: [{ name: 'a' }, { name: 'a' }] }), { message: /"a" is used twice/ });
  assert.throws(() => parseStrategy({ stages: [] }), { message: /unknown key "stages"/ });
  assert.throws(() => parseStrategy({ onHalt: 'panic' }), { message: /onHalt must be "pause" or "rollback"/ });
  assert.throws(() => parseStrategy({ waves: [{ approval: 'yes' }] }), {
    message: /rollout\.waves\[0\]\.approval must be "required" or "none" \(found "yes"\)/,
  });
});

test('waves: labels first, then shares of the whole rollout picked by a hash of rollout and host, the rest last; the same for any host order', () => {
  const hosts = Array.from({ length: 40 }, (_, i) => ({
    id: `host_${i}`,
    labels: i < 3 ? ['canary'] : ['eu'].slice(0, i % 2),
  }));
  const strategy = parseStrategy({
    waves: [
      { name: 'canary', labels: ['canary'] },
      { name: 'ten', percent: 10 },
      { name: 'eu', labels: ['eu'], percent: 25 },
    ],
  });
  const assigned = assignWaves('ro_fixed', hosts, strategy);
  const inWave = (w: number) => hosts.filter((h) => assigned.waveOf.get(h.id) === w).map((h) => h.id);
  assert.deepEqual(inWave(0), ['host_0', 'host_1', 'host_2']);
  assert.equal(inWave(1).length, 4, '10 % of 40');
  assert.equal(inWave(2).length, 10, '25 % of 40, among the eu hosts');
  assert.ok(inWave(2).every((id) => hosts.find((h) => h.id === id)!.labels.includes('eu')));
  assert.deepEqual(
    assigned.waves.map((w) => w.name),
    ['canary', 'ten', 'eu', 'rest'],
  );
  assert.equal(inWave(3).length, 40 - 3 - 4 - 10);
  const again = assignWaves('ro_fixed', [...hosts].reverse(), strategy);
  assert.deepEqual(
    [...again.waveOf].sort(),
    [...assigned.waveOf].sort(),
    'the same hosts in the same waves, whatever the order',
  );
  const other = assignWaves('ro_other', hosts, strategy);
  assert.notDeepEqual(
    hosts.filter((h) => other.waveOf.get(h.id) === 1).map((h) => h.id),
    inWave(1),
    'another rollout picks other hosts',
  );
});

test('error thresholds by count and by percentage', () => {
  assert.equal(errorThresholdReached({ kind: 'count', value: 2 }, 1, 10), false);
  assert.equal(errorThresholdReached({ kind: 'count', value: 2 }, 2, 10), true);
  assert.equal(errorThresholdReached({ kind: 'percent', value: 25 }, 1, 5), false);
  assert.equal(errorThresholdReached({ kind: 'percent', value: 25 }, 1, 4), true);
  assert.equal(errorThresholdReached(null, 10, 10), false);
});

const base = (extra: Partial<HoldContext> = {}): HoldContext => ({
  now: new Date('2026-11-27T10:00:00Z'),
  notBefore: null,
  startAt: null,
  schedules: [],
  dependencies: [],
  checkDependencies: true,
  pluginId: 'addon',
  inventory: [],
  activeJobs: [],
  follows: new Set(['addon']),
  dependencyWaitUntil: new Date('2026-11-27T10:10:00Z'),
  releaseGraph: new Map(),
  ...extra,
});

test('holds: a scheduled start, release age, then dependencies (missing, too old, too new, on the way, a cycle), then the window', () => {
  assert.deepEqual(evaluateHold(base()), { kind: 'release' });
  const young = evaluateHold(base({ notBefore: new Date('2026-11-27T12:00:00Z') }));
  assert.deepEqual([young.kind, young.kind === 'hold' && young.hold], ['hold', 'release_age']);
  assert.deepEqual(
    evaluateHold(base({ startAt: new Date('2026-11-27T22:30:00Z'), notBefore: new Date('2026-11-27T12:00:00Z') })),
    {
      kind: 'hold',
      hold: 'scheduled',
      reason: 'scheduled to start at 2026-11-27 22:30 UTC',
      until: new Date('2026-11-27T22:30:00Z'),
    },
  );
  assert.deepEqual(
    evaluateHold(base({ startAt: new Date('2026-11-27T09:00:00Z') })),
    { kind: 'release' },
    'a start that passed holds nothing',
  );

  const core = [{ id: 'core', min: '1.0.0', max: '1.9.9' }];
  const has = (version: string) => [{ pluginId: 'core', version, sha256: null }];
  assert.deepEqual(evaluateHold(base({ dependencies: core, inventory: has('1.2.0') })), { kind: 'release' });
  assert.deepEqual(evaluateHold(base({ dependencies: core })), {
    kind: 'block',
    reason: 'dependency not met: core is not installed (needed: 1.0.0 to 1.9.9), and this host does not follow core',
  });
  assert.deepEqual(evaluateHold(base({ dependencies: core, inventory: has('0.9.0') })), {
    kind: 'block',
    reason:
      'dependency not met: core 0.9.0 is installed, older than needed (1.0.0 to 1.9.9), and this host does not follow core',
  });
  assert.match(
    (evaluateHold(base({ dependencies: core, inventory: has('2.0.0') })) as { reason: string }).reason,
    /core 2\.0\.0 is installed, newer than allowed/,
  );
  const coming = evaluateHold(
    base({ dependencies: core, activeJobs: [{ jobId: 'j1', pluginId: 'core', version: '1.1.0', dependencies: [] }] }),
  );
  assert.deepEqual(coming, {
    kind: 'hold',
    hold: 'dependency',
    reason: 'waits for core 1.1.0 (1.0.0 to 1.9.9) to be installed first',
    until: null,
  });
  // A dependency the host follows may be released a moment later: it is waited for, then the job is blocked.
  const follows = new Set(['addon', 'core']);
  const waiting = evaluateHold(base({ dependencies: core, follows }));
  assert.deepEqual(
    [waiting.kind, waiting.kind === 'hold' && waiting.until?.toISOString()],
    ['hold', '2026-11-27T10:10:00.000Z'],
  );
  assert.equal(
    (waiting as { reason: string }).reason,
    'waits for a release of core (1.0.0 to 1.9.9): core is not installed (needed: 1.0.0 to 1.9.9) (until 2026-11-27 10:10 UTC; blocked after)',
  );
  assert.match(
    (evaluateHold(base({ dependencies: core, follows, now: new Date('2026-11-27T10:11:00Z') })) as { reason: string })
      .reason,
    /no release of it came for this host in time/,
  );
  const cycle = evaluateHold(
    base({ dependencies: [{ id: 'core' }], follows, releaseGraph: new Map([['core', ['addon']]]) }),
  );
  assert.deepEqual(cycle, { kind: 'block', reason: 'dependency cycle: addon → core → addon' });

  const closed = evaluateHold(
    base({ schedules: [{ timeZone: 'Asia/Tokyo', windows: [parseWindow('fri 22:00-02:00')] }] }),
  );
  assert.deepEqual(closed, {
    kind: 'hold',
    hold: 'window',
    reason: 'outside its maintenance window: waits until Fri 22:00 Asia/Tokyo',
    until: new Date('2026-11-27T13:00:00Z'),
  });
});
