import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, run, tempDir } from '../helpers.ts';

// The README and docs/ are what users follow: their links lead somewhere, the recipes they paste work, the
// Action's example names this repository, and the workflows run what exists.

const DOCS = [
  'README.md',
  'DEVELOPERS.md',
  ...(await readdir(path.join(REPO, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
];
const read = (file: string) => readFile(path.join(REPO, file), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

test('the README is for users: about 15 KB, with the diagram of a release travelling', async () => {
  const readme = await read('README.md');
  assert.ok(Buffer.byteLength(readme) <= 16 * 1024, `README.md is ${Buffer.byteLength(readme)} bytes`);
  assert.match(
    readme,
    /```mermaid\nflowchart LR\n[\s\S]*author[\s\S]*action[\s\S]*bot[\s\S]*agent[\s\S]*reports[\s\S]*```/,
  );
  for (const doc of [
    'docs/cli.md',
    'docs/action.md',
    'docs/bot.md',
    'docs/agent.md',
    'docs/protocol.md',
    'docs/benchmarks.md',
  ]) {
    assert.ok(readme.includes(`](${doc})`), `README.md does not link ${doc}`);
  }
});

test('every relative link in the README and docs/ leads to a file, and every anchor to a heading', async () => {
  const broken: string[] = [];
  for (const doc of DOCS) {
    const text = await read(doc);
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:)/.test(target)) continue;
      const [file, anchor] = target.split('#');
      const resolved = file ? path.join(REPO, path.dirname(doc), file) : path.join(REPO, doc);
      if (!existsSync(resolved)) {
        broken.push(`${doc}: ${target} (no such file)`);
        continue;
      }
      if (anchor && resolved.endsWith('.md')) {
        const headings = [...(await readFile(resolved, 'utf8')).matchAll(/^#+ (.+)$/gm)].map(([, h]) => slug(h));
        if (!headings.includes(anchor)) broken.push(`${doc}: ${target} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test("the README's and docs/action.md's recipe for trying the Action locally packs the example plugin", async () => {
  for (const doc of ['README.md', 'docs/action.md']) {
    const recipe = /```bash\n(env INPUT_PATH=[^`]+?node dist\/action\.js)\n```/.exec(await read(doc))?.[1];
    assert.ok(recipe, `${doc} has no INPUT_* recipe`);
    const out = await tempDir('c2f-recipe-');
    const result = await run('bash', ['-c', recipe.replace('INPUT_OUT-DIR=out', `INPUT_OUT-DIR=${out}`)], {
      cwd: REPO,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /::set-output name=plugin-id::hello-plugin/);
    assert.ok(
      existsSync(path.join(out, 'gestor-plugin.zip')) && existsSync(path.join(out, 'gestor-plugin.zip.sha256')),
      doc,
    );
  }
});

test("the Action's examples name this repository, and the workflows run what exists", async () => {
  const pkg = JSON.parse(await read('package.json')) as { repository: { url: string } };
  const repository = /github\.com\/([^/]+\/[^/.]+)/.exec(pkg.repository.url)![1];
  for (const doc of ['README.md', 'docs/action.md']) {
    const uses = [...(await read(doc)).matchAll(/uses: ([\w.-]+\/conn2flow-plugin-release)@([\w.]+)/g)];
    assert.ok(uses.length > 0, doc);
    for (const [, name, ref] of uses) assert.deepEqual([name, ref], [repository, 'v1'], doc);
  }
  const ci = await read('.github/workflows/ci.yml');
  assert.match(ci, /run: bash \.ci\/run/);
  const release = await read('.github/workflows/release.yml');
  for (const [, script] of release.matchAll(/node (scripts\/[\w-]+\.ts)/g))
    assert.ok(existsSync(path.join(REPO, script)), script);
  const scripts = (JSON.parse(await read('package.json')) as { scripts: Record<string, string> }).scripts;
  for (const [, name] of release.matchAll(/npm run ([\w:-]+)/g)) assert.ok(name in scripts, `npm run ${name}`);
  assert.match(
    release,
    /gh release upload "\$TAG" release\/conn2flow-plugin-release-\*\.tgz release\/c2f-agent-linux-x64 release\/c2f-agent-linux-x64\.THIRD_PARTY_NOTICES\.txt release\/SHA256SUMS/,
  );
});
