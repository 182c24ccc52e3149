import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { REPO } from '../helpers.ts';

// docs/architecture.md is where a newcomer starts: every path it names exists, and the layering it states
// holds in the code.

test('every path docs/architecture.md names exists', async () => {
  const text = await readFile(path.join(REPO, 'docs', 'architecture.md'), 'utf8');
  const paths = [...text.matchAll(/`((?:src|test|docs|bench|scripts|dev)\/[^`\s]*)`/g)].map((m) => m[1]);
  assert.ok(paths.length > 30, `only ${paths.length} paths found: the check would prove little`);
  const missing = paths.filter((p) => !existsSync(path.join(REPO, p)));
  assert.deepEqual(missing, [], 'docs/architecture.md names paths that do not exist');
});

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(REPO, dir), { recursive: true });
  return entries.filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
}

/** Every import in `dir` that resolves into one of `forbidden` (folders under src/). */
async function importsInto(dir: string, forbidden: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of await sources(dir)) {
    const text = await readFile(path.join(REPO, file), 'utf8');
    for (const [, target] of text.matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)) {
      const resolved = path.relative(REPO, path.resolve(path.dirname(path.join(REPO, file)), target));
      if (forbidden.some((f) => resolved.startsWith(`${f}/`) || resolved === `${f}.ts`))
        found.push(`${file} → ${resolved}`);
    }
  }
  return found;
}

test('no import runs up the layers: protocol, plugin, the programs, and the bot’s read side, domain and store', async () => {
  const programs = ['src/action', 'src/bot', 'src/agent', 'src/cli'];
  assert.deepEqual(await importsInto('src/protocol', ['src/plugin', ...programs]), []);
  assert.deepEqual(await importsInto('src/plugin', programs), []);
  assert.deepEqual(await importsInto('src/action', ['src/bot', 'src/agent', 'src/cli']), []);
  assert.deepEqual(await importsInto('src/bot', ['src/action', 'src/agent', 'src/cli']), []);
  assert.deepEqual(await importsInto('src/agent', ['src/action', 'src/bot', 'src/cli']), []);
  const edges = ['github', 'api', 'console', 'setup', 'app', 'server', 'follow-rollouts'].map((d) => `src/bot/${d}`);
  const aboveStore = [...edges, ...['read', 'rollout', 'delivery', 'changes'].map((d) => `src/bot/${d}`)];
  assert.deepEqual(await importsInto('src/bot/store', aboveStore), []);
  assert.deepEqual(await importsInto('src/bot/read', [...edges, 'src/bot/delivery', 'src/bot/changes']), []);
  assert.deepEqual(await importsInto('src/bot/rollout', [...edges, 'src/bot/read']), []);
  const domain = await readFile(path.join(REPO, 'src/bot/domain.ts'), 'utf8');
  const domainImports = [...domain.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
  assert.deepEqual(
    domainImports.filter((target) => !target.startsWith('../protocol/')),
    [],
    'src/bot/domain.ts is below rollout/ and store/',
  );
});
