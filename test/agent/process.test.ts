import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, cli, tempDir, waitFor } from '../helpers.ts';
import { FakeBot } from './fake-bot.ts';
import { packageWith } from './raw-zip.ts';

// The agent as operators run it (`c2f-plugin agent --config FILE`), killed with SIGKILL in the middle of an
// install: after the restart the job is reported as interrupted, the installer is not run a second time,
// and a repeat of the job answers with that outcome.

const bot = new FakeBot();
const children: ChildProcess[] = [];
before(async () => void (await bot.start()));
after(async () => {
  children.forEach((c) => c.kill('SIGKILL'));
  await bot.stop();
});

function startAgent(configFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(REPO, 'src', 'cli', 'c2f-plugin.ts'), 'agent', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      const url = /receiving jobs on (\S+)/.exec(String(d))?.[1];
      if (url) resolve({ child, url });
    });
    child.on('exit', (code) => reject(new Error(`agent exited with ${code}: ${stderr}`)));
  });
}

test('kill -9 mid-install, restart: reported as interrupted (44), never installed twice', async () => {
  const dir = await tempDir('c2f-agent-');
  const calls = path.join(dir, 'calls.log');
  const configFile = path.join(dir, 'c2f-agent.json');
  await writeFile(configFile, JSON.stringify({
    hostId: bot.hostId, secret: bot.secret, botUrl: bot.url, listen: { port: 0 }, allowHttpDownloads: true,
    installer: { type: 'command', command: ['/bin/sh', '-c', `echo "$C2F_VERSION" >> ${calls}; sleep 30`] },
  }));
  const first = await startAgent(configFile);
  const job = await bot.jobFor(packageWith([]));
  assert.equal((await bot.push(first.url, job)).status, 202);
  await waitFor(async () => (await readFile(calls, 'utf8').catch(() => '')).includes('1.0.0'), 'the installer to start');
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const second = await startAgent(configFile);
  const final = await waitFor(() => bot.reportsFor(job.jobId).find((r) => r.status === 'erro'), 'the report after the restart');
  assert.deepEqual([final.exitCode, final.exitLabel], [44, 'INTERRUPTED']);
  assert.match(final.message, /not run again/);
  assert.deepEqual(bot.reportsFor(job.jobId).map((r) => r.status), ['instalando', 'erro']);
  assert.equal((await readFile(calls, 'utf8')).trim(), '1.0.0');

  // A second agent on the same data folder refuses to start while this one runs.
  const twin = await cli(['agent', '--config', configFile]);
  assert.equal(twin.code, 78);
  assert.match(twin.stderr, /in use by another agent \(pid \d+\)/);

  const repeat = await bot.push(second.url, job);
  assert.equal(repeat.status, 200);
  assert.equal(repeat.body.report.exitCode, 44);

  const status = await cli(['agent', 'status', '--config', configFile]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /install\s+demo-plugin 1\.0\.0\s+erro\s+44 INTERRUPTED/);
  const json = JSON.parse((await cli(['agent', 'status', '--config', configFile, '--json'])).stdout);
  assert.equal(json.jobs[0].exitLabel, 'INTERRUPTED');

  second.child.kill('SIGTERM');
  assert.equal(await new Promise((resolve) => second.child.once('exit', resolve)), 0);
});

test('a bad config file is reported with the setting at fault (exit 78)', async () => {
  const dir = await tempDir('c2f-agent-');
  const configFile = path.join(dir, 'c2f-agent.json');
  await writeFile(configFile, JSON.stringify({ hostId: 'h', secret: 'nope', botUrl: 'ftp://x', installer: { type: 'command' }, colour: 'blue' }));
  const result = await cli(['agent', '--config', configFile]);
  assert.equal(result.code, 78);
  assert.match(result.stderr, /secret: must match pattern/);
  assert.match(result.stderr, /unknown setting "colour"/);
  assert.match(result.stderr, /botUrl/);
  const missing = await cli(['agent']);
  assert.equal(missing.code, 64);
  assert.match(missing.stderr, /--config FILE is required/);
});
