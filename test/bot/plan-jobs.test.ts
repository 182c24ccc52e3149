import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planJobs, type ReleaseToPlan } from '../../src/bot/rollout/plan-jobs.ts';
import type { HostRecord } from '../../src/bot/store/hosts.ts';

const release: ReleaseToPlan = {
  id: 7,
  repository: 'conn2flow/plugins',
  pluginId: 'p',
  version: '1.2.0',
  prerelease: false,
  sha256: 'b'.repeat(64),
};
const host = (id: string, extra: Partial<HostRecord> = {}): HostRecord => ({
  id,
  name: id,
  url: `https://${id}.example.com`,
  policy: 'auto',
  channel: 'stable',
  enabled: true,
  allowPrivateNetwork: false,
  enrolled: true,
  lastSeenAt: null,
  agentVersion: null,
  gestorVersion: null,
  publishers: null,
  inventory: [],
  plugins: [{ repository: 'conn2flow/plugins', pluginId: 'p' }],
  labels: [],
  timeZone: null,
  windows: null,
  createdAt: '2026-01-01T00:00:00Z',
  ...extra,
});

test('each following host gets one job by its policy; others are left out', () => {
  const plan = planJobs(release, [
    host('auto'),
    host('notify', { policy: 'notify' }),
    host('manual', { policy: 'manual' }),
    host('other', { plugins: [{ repository: 'conn2flow/plugins', pluginId: 'q' }] }),
  ]);
  const common = {
    releaseId: 7,
    action: 'install',
    force: false,
    reason: null,
    previousVersion: null,
    previousSha256: null,
    event: 'job_planned',
  };
  assert.deepEqual(plan, [
    { ...common, hostId: 'auto', state: 'queued', notify: false },
    { ...common, hostId: 'notify', state: 'awaiting_approval', notify: true },
    { ...common, hostId: 'manual', state: 'awaiting_approval', notify: false },
  ]);
});

test('skips say why: same package, newer version installed, disabled, not enrolled, stable channel', () => {
  const plan = planJobs({ ...release, prerelease: false }, [
    host('same', { inventory: [{ pluginId: 'p', version: '1.2.0', sha256: 'b'.repeat(64) }] }),
    host('newer', { inventory: [{ pluginId: 'p', version: '1.10.0', sha256: 'c'.repeat(64) }] }),
    host('off', { enabled: false }),
    host('pending', { enrolled: false }),
    host('rebuilt', { inventory: [{ pluginId: 'p', version: '1.2.0', sha256: 'd'.repeat(64) }] }),
    host('older', { inventory: [{ pluginId: 'p', version: '1.1.9', sha256: 'e'.repeat(64) }] }),
  ]);
  assert.deepEqual(
    plan.map((j) => [j.hostId, j.state, j.reason ?? j.action]),
    [
      ['same', 'skipped', 'no change: 1.2.0 with the same package is installed'],
      ['newer', 'skipped', 'downgrade: 1.10.0 is installed; use "force" to install 1.2.0'],
      ['off', 'skipped', 'host disabled'],
      ['pending', 'skipped', 'host not enrolled yet'],
      ['rebuilt', 'queued', 'update'],
      ['older', 'queued', 'update'],
    ],
  );
  const pre = planJobs({ ...release, prerelease: true }, [host('stable'), host('edge', { channel: 'prerelease' })]);
  assert.deepEqual(
    pre.map((j) => [j.hostId, j.state]),
    [
      ['stable', 'skipped'],
      ['edge', 'queued'],
    ],
  );
  const forced = planJobs(
    release,
    [host('newer', { inventory: [{ pluginId: 'p', version: '1.10.0', sha256: null }] })],
    { force: true },
  );
  assert.deepEqual(
    forced.map((j) => [j.state, j.action, j.force]),
    [['queued', 'update', true]],
  );
  // What a host had before is kept with its job: a rollback returns to it.
  const older = plan.find((j) => j.hostId === 'older')!;
  assert.deepEqual([older.previousVersion, older.previousSha256], ['1.1.9', 'e'.repeat(64)]);
});

test("a host whose site runs a Conn2Flow outside the package's compatibility is blocked (31) with both versions; an unknown version is left to the agent", () => {
  const compatible = { ...release, compatibility: { min: '1.0.0', max: '2.x' } };
  const planned = planJobs(compatible, [
    host('old', { gestorVersion: '2.9.43' }),
    host('new', { gestorVersion: '3.0.1' }),
    host('unknown'),
  ]);
  assert.deepEqual(
    planned.map((j) => [j.hostId, j.state, j.exitCode ?? null, j.reason]),
    [
      ['old', 'queued', null, null],
      ['new', 'blocked', 31, 'p 1.2.0 does not fit this site: it is for Conn2Flow 1.0.0 to 2.x; this site runs 3.0.1'],
      ['unknown', 'queued', null, null],
    ],
  );
});
