import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GitHubRelease, ReleaseAssetsApi } from '../../src/bot/domain.ts';
import { readingReleaseEarly } from '../../src/bot/github/release-assets-api.ts';

// While the bot reads a repository's configuration, the release, its package and the package's checksum are
// already on their way: each is read once, handed out once, and a package nobody took is cancelled.

const REPO = 'conn2flow/plugins';
const ASSETS = { checksum: { name: 'gestor-plugin.zip.sha256', maxBytes: 1024 }, package: 'gestor-plugin.zip' };

function release(names: string[]): GitHubRelease {
  return {
    tagName: 'plugin-x-v1.0.0',
    draft: false,
    prerelease: false,
    publishedAt: null,
    assets: names.map((name, i) => ({ id: i + 1, name, size: 10, digest: null, browserDownloadUrl: '' })),
  };
}

/** A GitHub that records every request and whether each package stream it handed out was cancelled. */
function recordingApi(answer: GitHubRelease | undefined, failText = false) {
  const calls: string[] = [];
  const cancelled: number[] = [];
  const api: ReleaseAssetsApi = {
    getRelease: async (repo, id) => {
      calls.push(`release ${repo} ${id}`);
      return answer;
    },
    downloadText: async (_repo, id, maxBytes) => {
      calls.push(`text ${id} ${maxBytes}`);
      if (failText) throw new Error('GitHub answered 502');
      return `text of ${id}`;
    },
    download: async (_repo, id) => {
      calls.push(`download ${id}`);
      return new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(new Uint8Array([id])),
        cancel: () => {
          cancelled.push(id);
        },
      });
    },
  };
  return { api, calls, cancelled };
}

test('the release, its checksum and its package are requested before anyone asks, and each is handed out once', async () => {
  const github = recordingApi(release(['gestor-plugin.zip', 'gestor-plugin.zip.sha256']));
  const early = readingReleaseEarly(github.api, REPO, 7, ASSETS);
  await early.getRelease(REPO, 7); // the caller reads the release after the configuration
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(github.calls, [`release ${REPO} 7`, 'text 2 1024', 'download 1'], 'all three asked for at once');

  assert.equal(await early.downloadText(REPO, 2, 1024), 'text of 2');
  const stream = await early.download(REPO, 1);
  assert.deepEqual(github.calls.length, 3, 'the early answers were used, not asked for again');
  const { value } = await stream.getReader().read();
  assert.deepEqual([...(value ?? [])], [1]);

  // Asked for again (a second reader), the asset is downloaded again: a stream is read once.
  await early.download(REPO, 1);
  await early.downloadText(REPO, 2, 1024);
  assert.deepEqual(github.calls.slice(3), ['download 1', 'text 2 1024']);
  // Another limit or another asset is not the early read.
  await early.downloadText(REPO, 3, 4096);
  assert.equal(github.calls.at(-1), 'text 3 4096');

  await early.dropUnused();
  assert.deepEqual(github.cancelled, [], 'a package that was taken is not cancelled');
});

test('a package nobody took (the release was ignored or failed first) is cancelled', async () => {
  const github = recordingApi(release(['gestor-plugin.zip', 'gestor-plugin.zip.sha256']));
  const early = readingReleaseEarly(github.api, REPO, 7, ASSETS);
  await early.getRelease(REPO, 7);
  await early.dropUnused();
  assert.deepEqual(github.cancelled, [1]);
  // Asked for after being dropped, it is downloaded afresh.
  await early.download(REPO, 1);
  assert.equal(github.calls.filter((c) => c === 'download 1').length, 2);
});

test('a release without the assets starts no download; an early download that failed fails the caller who asks', async () => {
  const bare = recordingApi(release(['notes.txt']));
  const early = readingReleaseEarly(bare.api, REPO, 7, ASSETS);
  await early.getRelease(REPO, 7);
  await early.dropUnused();
  assert.deepEqual(bare.calls, [`release ${REPO} 7`]);

  const failing = recordingApi(release(['gestor-plugin.zip', 'gestor-plugin.zip.sha256']), true);
  const read = readingReleaseEarly(failing.api, REPO, 7, ASSETS);
  await read.getRelease(REPO, 7);
  await assert.rejects(read.downloadText(REPO, 2, 1024), /GitHub answered 502/);
  await read.dropUnused();
  assert.deepEqual(failing.cancelled, [1]);

  const missing = recordingApi(undefined);
  const none = readingReleaseEarly(missing.api, REPO, 7, ASSETS);
  assert.equal(await none.getRelease(REPO, 7), undefined);
  await none.dropUnused();
  assert.deepEqual(missing.calls, [`release ${REPO} 7`]);
});
