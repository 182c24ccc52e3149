import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, run, tempDir } from '../helpers.ts';
import { AGENT_EXECUTABLE, executableAgent, runAgent } from './bundle.ts';

// The agent executable's own surface, in an empty environment (no PATH, no Node.js); its end-to-end path runs
// in the PostgreSQL operator walk-through.

test('c2f-agent runs with an empty environment: version, help, one-line failures with their exit codes', async () => {
  const { version } = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  const bare = (args: string[]) => run('/usr/bin/env', ['-i', AGENT_EXECUTABLE, ...args]);
  assert.deepEqual(await bare(['--version']), { code: 0, stdout: `${version}\n`, stderr: '' });
  const help = await bare(['--help']);
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /^Usage: c2f-agent --config FILE +run the host agent\n +c2f-agent enroll --bot URL --token T/,
  );
  const missing = await bare(['status', '--config', '/nonexistent/c2f-agent.json']);
  assert.equal(missing.code, 78);
  assert.equal(missing.stderr.split('\n').length, 2, missing.stderr);
  assert.match(missing.stderr, /^c2f-agent status: cannot read the agent config \/nonexistent\/c2f-agent.json/);
  const usage = await bare(['enroll', '--bot', 'https://bot.example.com']);
  assert.equal(usage.code, 64);
  assert.equal(
    usage.stderr,
    'c2f-agent: --bot URL and --token T are required; "c2f-agent --help" shows how to use it\n',
  );
  const program = await executableAgent();
  const refused = await runAgent(program, [
    'enroll',
    '--bot',
    'http://127.0.0.1:9',
    '--token',
    'c2fenroll_x',
    '--gestor',
    '/tmp',
    '--config',
    '/tmp/never.json',
  ]);
  assert.equal(refused.code, 69);
  assert.equal(
    refused.stderr,
    'c2f-agent enroll: enrollment failed: the bot could not be reached (connection refused)\n',
  );
  assert.equal(await program.calledNode(), false);
  // NODE_OPTIONS cannot load code into the executable.
  const dir = await tempDir();
  await writeFile(path.join(dir, 'inject.cjs'), 'process.stderr.write("INJECTED\\n")');
  const injected = await run('/usr/bin/env', [
    '-i',
    `NODE_OPTIONS=--require ${path.join(dir, 'inject.cjs')}`,
    AGENT_EXECUTABLE,
    '--version',
  ]);
  assert.deepEqual([injected.code, injected.stdout, injected.stderr], [0, `${version}\n`, '']);
});
