import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';

// The stand-in must catch a client that breaks GitHub's contract, or its silence would prove nothing.
const github = new GitHubStandIn();
before(() => github.start());
after(() => github.stop());

test('a request body that breaks the OpenAPI schema is recorded as a violation', async () => {
  const response = await fetch(`${github.url}/repos/o/r/releases`, {
    method: 'POST',
    headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
    body: JSON.stringify({ tag_name: 42, draft: 'yes' }),
  });
  await response.arrayBuffer();
  assert.ok(
    github.violations.some((v) => v.startsWith('POST /repos/{owner}/{repo}/releases request body')),
    github.violations.join('\n'),
  );
  github.violations.length = 0;
});

test('an unauthenticated or unknown request is recorded', async () => {
  await (await fetch(`${github.url}/repos/o/r/releases`)).arrayBuffer();
  await (await fetch(`${github.url}/repos/o/r/issues`, { headers: { authorization: 'Bearer x' } })).arrayBuffer();
  assert.deepEqual(
    github.violations.splice(0).map((v) => v.split(':')[0]),
    ['GET /repos/{owner}/{repo}/releases', 'unexpected request GET /repos/o/r/issues'],
  );
});

test('valid traffic leaves no violation, and drafts are invisible by tag as on GitHub', async () => {
  github.addRelease('o/r', { tagName: 'v1.0.0', draft: true });
  const byTag = await fetch(`${github.url}/repos/o/r/releases/tags/v1.0.0`, { headers: { authorization: 'Bearer x' } });
  assert.equal(byTag.status, 404);
  const list = await fetch(`${github.url}/repos/o/r/releases`, { headers: { authorization: 'Bearer x' } });
  assert.equal(((await list.json()) as unknown[]).length, 1);
  await byTag.arrayBuffer();
  assert.deepEqual(github.violations, []);
});
