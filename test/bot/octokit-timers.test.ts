import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import '../../src/bot/github/bottleneck-yield.ts';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { testProbot } from './test-probot.ts';

// Each timer Node is asked to fire "at once" waits at least a millisecond: a GitHub read that queued ten of
// them behind its throttling and retry plugins spent ~10 ms on nothing, three times before a rollout starts.

const github = new GitHubStandIn();
before(() => github.start());
after(() => github.stop());

test("a read through Probot's Octokit (throttling and retry plugins) waits only on the job timer of each of its three Bottleneck queues", async () => {
  const probot = testProbot(github);
  const release = github.addRelease('conn2flow/plugins', { tagName: 'plugin-a-v1.0.0' }, []);
  const octokit = await probot.auth(5);
  const read = () =>
    octokit.request('GET /repos/{owner}/{repo}/releases/{release_id}', {
      owner: 'conn2flow',
      repo: 'plugins',
      release_id: release.id,
    });
  await read(); // the installation token is fetched once, before counting
  const real = globalThis.setTimeout;
  let immediate = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number, ...args: unknown[]) => {
    if (!ms || ms <= 1) immediate++;
    return Reflect.apply(real, globalThis, [fn, ms, ...args]);
  }) as typeof setTimeout;
  try {
    for (let i = 0; i < 5; i++) assert.equal((await read()).data.tag_name, 'plugin-a-v1.0.0');
  } finally {
    globalThis.setTimeout = real;
  }
  assert.ok(immediate <= 5 * 3, `${immediate} zero-delay timers for 5 reads`);
  assert.deepEqual(github.violations, []);
});
