import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rolloutView } from '../../src/bot/github/rollout-summary.ts';
import type { HostRecord } from '../../src/bot/store/hosts.ts';
import type { HostJob } from '../../src/bot/store/rollouts.ts';

const job = (hostId: string, state: HostJob['state'], extra: Partial<HostJob> = {}): HostJob => ({
  id: `job_${hostId}`, rolloutId: 'ro_1', hostId, pluginId: 'p', action: 'update', state, notify: false, force: false, reason: null,
  messageId: 'm', attempts: 1, exitCode: null, exitLabel: null, installedVersion: null, updatedAt: '2026-11-22T10:00:00.000Z', ...extra,
});
const hosts = new Map<string, HostRecord>([['a', { name: 'shop|main', policy: 'auto' } as HostRecord], ['b', { name: 'office', policy: 'manual' } as HostRecord]]);

test('the check run stays in progress until every job is final, then concludes', () => {
  const running = rolloutView({ id: 'p', version: '1.0.0' }, [job('a', 'ok', { exitCode: 0, exitLabel: 'OK', installedVersion: '1.0.0' }), job('b', 'awaiting_approval')], hosts);
  assert.deepEqual([running.status, running.conclusion, running.title], ['in_progress', undefined, 'rolling out: 1 of 2 hosts done']);
  assert.match(running.summary, /\| shop\\\|main \| auto \| ok \| 1\.0\.0 \| 0 OK \| 2026-11-22 10:00:00 \|/);
  assert.match(running.summary, /\| office \| manual \| awaiting_approval \|  \|  \|/);
  const failed = rolloutView({ id: 'p', version: '1.0.0' }, [job('a', 'ok'), job('b', 'failed', { exitCode: 43, exitLabel: 'VERIFY_FAILED', reason: 'plugins row\nnot updated' })], hosts);
  assert.deepEqual([failed.status, failed.conclusion, failed.title], ['completed', 'failure', '1 of 2 hosts updated, 1 failed']);
  assert.match(failed.summary, /failed \(plugins row not updated\) \|  \| 43 VERIFY_FAILED/);
  assert.equal(rolloutView({ id: 'p', version: '1.0.0' }, [job('a', 'skipped', { reason: 'no change' })], hosts).conclusion, 'neutral');
});
