import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateEnd } from '../../src/bot/read/rollout-estimate.ts';
import type { WaveSummary } from '../../src/bot/rollout/wave-summary.ts';

// A running rollout's estimate: a wave takes about one job's time (its jobs run at once on their hosts), plus
// the soaks still to come, after the latest time a held job waits for.

const now = new Date('2026-12-03T10:00:00Z');
const wave = (state: WaveSummary['state'], soakSeconds = 0, approvalRequired = false) => ({
  state,
  soakSeconds,
  approvalRequired,
});

test('waves: the current one, its soak, then each later wave; the last soak does not count', () => {
  const estimate = estimateEnd({
    now,
    jobSeconds: 60,
    latestHold: null,
    soakUntil: null,
    currentWave: 0,
    waves: [wave('running', 600), wave('waiting', 300), wave('waiting', 900)],
    unfinished: true,
  });
  // 60 s + 600 s soak + 60 s + 300 s soak + 60 s
  assert.equal(estimate.endsAt, '2026-12-03T10:18:00.000Z');
  assert.equal(estimate.approvalOfWave, null);
});

test('a soaking wave counts from its end; a held job moves the start; an approval is named, not guessed', () => {
  const estimate = estimateEnd({
    now,
    jobSeconds: 30,
    latestHold: new Date('2026-12-03T11:00:00Z'),
    soakUntil: new Date('2026-12-03T10:30:00Z'),
    currentWave: 0,
    waves: [wave('soaking', 1800), wave('waiting', 0, true)],
    unfinished: true,
  });
  assert.equal(estimate.endsAt, '2026-12-03T11:00:30.000Z');
  assert.equal(estimate.approvalOfWave, 2);
});

test('without waves, one job time while jobs are left; nothing to go on before a job finished', () => {
  const base = { now, latestHold: null, soakUntil: null, currentWave: 0, waves: [] };
  assert.equal(estimateEnd({ ...base, jobSeconds: 45, unfinished: true }).endsAt, '2026-12-03T10:00:45.000Z');
  assert.deepEqual(estimateEnd({ ...base, jobSeconds: null, unfinished: true }), {
    endsAt: null,
    jobSeconds: null,
    approvalOfWave: null,
  });
});
