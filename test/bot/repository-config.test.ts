import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { Probot } from 'probot';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { readRepositoryConfig, RepositoryConfigError } from '../../src/bot/github/repository-config.ts';

// A repository's .github/conn2flow-release.yml as Probot's context.config reads it (the repository's file, else
// the owner's .github repository's), with the owner's file asked for beside the repository's, not after it.

const FILE = '.github/conn2flow-release.yml';

/** An Octokit whose contents API answers from `files` (`owner/repo/path`), logging when each request starts and ends. */
function fakeOctokit(files: Record<string, string>) {
  const log: string[] = [];
  const request = Object.assign(
    async (e: { owner: string; repo: string; path: string }) => {
      const key = `${e.owner}/${e.repo}/${e.path}`;
      log.push(`start ${e.repo}`);
      await new Promise<void>((resolve) => setImmediate(resolve));
      log.push(`end ${e.repo}`);
      if (!(key in files)) throw Object.assign(new Error('Not Found'), { status: 404 });
      return { data: files[key], headers: { 'content-type': 'application/vnd.github.raw' } };
    },
    {
      endpoint: (e: { owner: string; repo: string; path: string }) => ({
        url: `https://api.github.com/repos/${e.owner}/${e.repo}/contents/${e.path}`,
      }),
    },
  );
  return { octokit: { request, config: {} }, log };
}

test("the owner's file is asked for at once, and used when the repository has none", async () => {
  const { octokit, log } = fakeOctokit({ [`acme/.github/${FILE}`]: 'rollout:\n  soak: 10m\n' });
  assert.deepEqual(await readRepositoryConfig(octokit, 'acme/plugins'), { rollout: { soak: '10m' } });
  assert.ok(
    log.indexOf('start .github') < log.indexOf('end plugins'),
    `the owner's file was asked for only after the repository answered: ${log.join(', ')}`,
  );
  assert.equal(log.filter((l) => l === 'start .github').length, 1, 'asked for once');
});

test("the repository's own file wins; no file at all is an empty configuration; a bad one is a clear error", async () => {
  const both = fakeOctokit({ [`acme/plugins/${FILE}`]: 'tag-pattern: x\n', [`acme/.github/${FILE}`]: 'soak: 1h\n' });
  assert.deepEqual(await readRepositoryConfig(both.octokit, 'acme/plugins'), { 'tag-pattern': 'x' });
  assert.deepEqual(await readRepositoryConfig(fakeOctokit({}).octokit, 'acme/plugins'), {});
  // The owner's .github repository itself has no other place to look.
  const own = fakeOctokit({});
  assert.deepEqual(await readRepositoryConfig(own.octokit, 'acme/.github'), {});
  assert.deepEqual(own.log, ['start .github', 'end .github']);
  await assert.rejects(
    readRepositoryConfig(fakeOctokit({ [`acme/plugins/${FILE}`]: 'a: [' }).octokit, 'acme/plugins'),
    (error: Error) => error instanceof RepositoryConfigError && /is not valid YAML/.test(error.message),
  );
  await assert.rejects(
    readRepositoryConfig(fakeOctokit({ [`acme/plugins/${FILE}`]: '- a\n- b\n' }).octokit, 'acme/plugins'),
    (error: Error) => error instanceof RepositoryConfigError && /must be a mapping/.test(error.message),
  );
});

test("through Probot's own Octokit and the GitHub stand-in: the owner's file, each request once", async () => {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const github = await new GitHubStandIn().start();
  try {
    github.apps.trust(1, privateKey, 'secret');
    github.files.set(`acme/.github/${FILE}`, 'rollout:\n  soak: 5m\n');
    const probot = new Probot({ appId: 1, privateKey, secret: 'secret', baseUrl: github.url, logLevel: 'fatal' });
    const octokit = await probot.auth(5);
    const before = github.requests.length;
    assert.deepEqual(await readRepositoryConfig(octokit, 'acme/plugins'), { rollout: { soak: '5m' } });
    const file = encodeURIComponent(FILE);
    assert.deepEqual(
      github.requests
        .slice(before)
        .filter((r) => r.includes('/contents/'))
        .sort(),
      [`GET /repos/acme/.github/contents/${file}`, `GET /repos/acme/plugins/contents/${file}`],
    );
    assert.deepEqual(github.violations, []);
  } finally {
    await github.stop();
  }
});
