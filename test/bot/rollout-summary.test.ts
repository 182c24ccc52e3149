import assert from 'node:assert/strict';
import { test } from 'node:test';
import { releaseFailureView, rolloutView } from '../../src/bot/github/rollout-summary.ts';
import type { HostRecord } from '../../src/bot/store/hosts.ts';
import type { HostJob } from '../../src/bot/store/rollouts.ts';

const job = (hostId: string, state: HostJob['state'], extra: Partial<HostJob> = {}): HostJob => ({
  id: `job_${hostId}`,
  rolloutId: 'ro_1',
  hostId,
  pluginId: 'p',
  releaseId: 1,
  action: 'update',
  state,
  notify: false,
  force: false,
  reason: null,
  attemptId: 'm',
  attempts: 1,
  deliveryTries: 1,
  exitCode: null,
  exitLabel: null,
  installedVersion: null,
  previousVersion: null,
  previousSha256: null,
  requestedBy: null,
  message: null,
  logTail: [],
  wave: 0,
  hold: null,
  holdUntil: null,
  releaseTo: null,
  updatedAt: '2026-11-22T10:00:00.000Z',
  ...extra,
});
const hosts = new Map<string, HostRecord>([
  ['a', { name: 'shop|main', policy: 'auto' } as HostRecord],
  ['b', { name: 'office', policy: 'manual' } as HostRecord],
]);
const release = { kind: 'release', pluginId: 'p', version: '1.0.0' } as const;

test('the check run stays in progress until every job is final, then concludes', () => {
  const running = rolloutView(
    release,
    [job('a', 'ok', { exitCode: 0, exitLabel: 'OK', installedVersion: '1.0.0' }), job('b', 'awaiting_approval')],
    hosts,
  );
  assert.deepEqual(
    [running.status, running.conclusion, running.title],
    ['in_progress', undefined, 'rolling out: 1 of 2 hosts done, 1 awaiting approval'],
  );
  assert.match(running.summary, /\| shop\\\|main \| auto \| update \| ok \| 1\.0\.0 \| 0 OK \| 2026-11-22 10:00:00 \|/);
  assert.match(running.summary, /\| office \| manual \| update \| awaiting_approval \| {2}\| {2}\|/);
  const failed = rolloutView(
    release,
    [
      job('a', 'ok'),
      job('b', 'failed', { exitCode: 43, exitLabel: 'VERIFY_FAILED', reason: 'plugins row\nnot updated' }),
    ],
    hosts,
  );
  assert.deepEqual(
    [failed.status, failed.conclusion, failed.title],
    ['completed', 'failure', '1 of 2 hosts updated, 1 failed'],
  );
  assert.match(failed.summary, /failed \(plugins row not updated\) \| {2}\| 43 VERIFY\\_FAILED/);
  assert.equal(rolloutView(release, [job('a', 'skipped', { reason: 'no change' })], hosts).conclusion, 'neutral');
});

test("failures show the host's message and the installer's log; control characters are escaped", () => {
  const view = rolloutView(
    release,
    [
      job('b', 'failed', {
        exitCode: 43,
        exitLabel: 'VERIFY_FAILED',
        message: 'restored to 0.9.0',
        logTail: ['$ php admin-plugins.php', '[info] checksum inalterado \u001b[2J', '```'],
      }),
    ],
    hosts,
  );
  assert.match(
    view.text!,
    /### office: 43 VERIFY\\_FAILED\n\nrestored to 0\.9\.0\n\n```\n\$ php admin-plugins\.php\n\[info\] checksum inalterado \\u001b\[2J\n'''\n```/,
  );
});

test('buttons: approve all when hosts wait, retry when jobs failed, roll back once hosts changed', () => {
  const ids = (jobs: HostJob[], kind: 'release' | 'rollback' = 'release') =>
    rolloutView({ ...release, kind }, jobs, hosts).actions.map((a) => a.identifier);
  assert.deepEqual(ids([job('a', 'awaiting_approval')]), ['approve-all']);
  assert.deepEqual(ids([job('a', 'ok'), job('b', 'failed')]), ['retry-failed', 'rollback']);
  assert.deepEqual(ids([job('a', 'queued')]), []);
  assert.deepEqual(ids([job('a', 'ok')], 'rollback'), [], 'a rollback rollout has no buttons of its own');
  for (const action of rolloutView(release, [job('a', 'awaiting_approval'), job('b', 'dead_lettered')], hosts)
    .actions) {
    assert.ok(
      action.label.length <= 20 && action.description.length <= 40 && action.identifier.length <= 20,
      JSON.stringify(action),
    );
  }
});

test('a release that never became a rollout is a failed check run that says why', () => {
  const view = releaseFailureView({
    tag: 'plugin-p-v1.0.0',
    error: "GitHub refused the App's credentials (401)",
    resolveFailures: 13,
  });
  assert.deepEqual([view.status, view.conclusion], ['completed', 'failure']);
  assert.match(view.title, /^not rolled out: GitHub refused/);
  assert.match(view.summary, /plugin-p-v1\.0\.0\*\* was not rolled out to any host[\s\S]*\(13 tries\)/);
});

test('conclusions follow how the rollout ended: aborted is cancelled, failed or blocked is a failure, all superseded is neutral', () => {
  const aborted = rolloutView(
    { ...release, state: 'aborted', stateReason: 'aborted by ops' },
    [job('a', 'ok'), job('b', 'cancelled')],
    hosts,
  );
  assert.deepEqual(
    [aborted.status, aborted.conclusion, aborted.title, aborted.actions],
    ['completed', 'cancelled', '1 of 2 hosts updated (aborted)', []],
  );
  const blocked = rolloutView(
    { ...release, state: 'completed' },
    [job('a', 'ok'), job('b', 'blocked', { exitCode: 30, exitLabel: 'DEPENDENCY' })],
    hosts,
  );
  assert.deepEqual([blocked.conclusion, blocked.title], ['failure', '1 of 2 hosts updated, 1 blocked']);
  // A halted rollout whose held jobs a newer release superseded is over, not in progress forever.
  const superseded = rolloutView(
    { ...release, state: 'halted', stateReason: 'wave 1 (canary): 1 of 1 jobs failed' },
    [job('a', 'failed'), job('b', 'superseded')],
    hosts,
  );
  assert.deepEqual(
    [superseded.status, superseded.conclusion, superseded.title],
    [
      'completed',
      'failure',
      '0 of 2 hosts updated, 1 failed, 1 superseded (halted: wave 1 (canary): 1 of 1 jobs failed)',
    ],
  );
  const quiet = rolloutView({ ...release, state: 'paused' }, [job('a', 'superseded'), job('b', 'superseded')], hosts);
  assert.deepEqual([quiet.status, quiet.conclusion], ['completed', 'neutral']);
});

test('text from hosts is literal Markdown: no link, image or HTML of theirs reaches the check run', () => {
  const evil = new Map<string, HostRecord>([
    ['e', { name: '<svg onload=alert(1)>[click](https://evil.example)', policy: 'auto' } as HostRecord],
  ]);
  const view = rolloutView(
    release,
    [
      job('e', 'failed', {
        exitCode: 43,
        exitLabel: '![x](https://evil.example/i.png)',
        message: '</pre>[login](https://evil.example) **bold**',
        logTail: ['</pre>'],
      }),
    ],
    evil,
  );
  // Outside code fences (whose content GitHub shows as it is), no markup of theirs.
  for (const text of [view.summary, view.text!])
    assert.doesNotMatch(text.replace(/```[\s\S]*?```/g, ''), /[^\\]\]\(https|<\/?(svg|pre)/, text);
  assert.match(
    view.text!,
    /### &lt;svg onload=alert\\\(1\\\)&gt;\\\[click\\\]\\\(https:\/\/evil\.example\\\): 43 \\!\\\[x\\\]/,
  );
  assert.match(view.text!, /&lt;\/pre&gt;\\\[login\\\]\\\(https:\/\/evil\.example\\\) \\\*\\\*bold\\\*\\\*/);
});
