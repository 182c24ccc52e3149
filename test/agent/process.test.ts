import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, cli, tempDir, waitFor } from '../helpers.ts';
import { FakeBot } from './fake-bot.ts';
import { MANIFEST, packageWith } from './raw-zip.ts';

// The agent as operators run it (the bundle's `c2f-plugin agent --config FILE`), killed with SIGKILL in the
// middle of an install and restarted at once, as a supervisor does: the installer the killed agent started
// (detached, so it lives on) is waited for before the next job for that plugin starts, the interrupted job is
// reported by what happened, the installer is not run a second time, and a repeat answers with that outcome.

const bot = new FakeBot();
const children: ChildProcess[] = [];
before(async () => void (await bot.start()));
after(async () => {
  children.forEach((c) => c.kill('SIGKILL'));
  await bot.stop();
});

function startAgent(configFile: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [path.join(REPO, 'dist', 'cli.js'), 'agent', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const url = /receiving jobs on (\S+)/.exec(stdout)?.[1];
      if (url) resolve({ child, url, output: () => `${stdout}${stderr}` });
    });
    child.on('exit', (code) => reject(new Error(`agent exited with ${code}: ${stderr}`)));
  });
}

test('kill -9 mid-install, immediate restart: the running installer is waited for, the job reported (44), nothing installed twice', async () => {
  const dir = await tempDir('c2f-agent-');
  const calls = path.join(dir, 'calls.log');
  // The installer runs until the test lets it end: however slow a restart is, it still runs when the new agent looks.
  const gate = path.join(dir, 'let-it-end');
  const configFile = path.join(dir, 'c2f-agent.json');
  await writeFile(
    configFile,
    JSON.stringify({
      hostId: bot.hostId,
      secret: bot.secret,
      botUrl: bot.url,
      listen: { port: 0 },
      allowHttpDownloads: true,
      installer: {
        type: 'command',
        command: [
          '/bin/sh',
          '-c',
          `echo "start $C2F_VERSION $(date +%s%N)" >> ${calls}; while [ ! -e ${gate} ]; do sleep 0.05; done; echo "end $C2F_VERSION $(date +%s%N)" >> ${calls}`,
        ],
      },
    }),
  );
  const first = await startAgent(configFile);
  const job = await bot.jobFor(packageWith([]));
  assert.equal((await bot.push(first.url, job)).status, 202);
  await waitFor(
    async () => (await readFile(calls, 'utf8').catch(() => '')).includes('start 1.0.0'),
    'the installer to start',
  );
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  // Restarted at once, and the next job for the same plugin arrives at once.
  const second = await startAgent(configFile);
  await waitFor(
    () =>
      /the installer the previous run started \(process group \d+\) still runs; waiting for it/.test(second.output()),
    'the restarted agent to find the running installer',
  );
  await writeFile(gate, '');
  const next = await bot.jobFor(packageWith([], MANIFEST('demo-plugin', '1.0.1')), { version: '1.0.1' });
  assert.equal((await bot.push(second.url, next)).status, 202);
  const final = await waitFor(
    () => bot.reportsFor(job.jobId).find((r) => r.status === 'erro'),
    'the report after the restart',
  );
  assert.deepEqual([final.exitCode, final.exitLabel], [44, 'INTERRUPTED']);
  assert.match(final.message, /the installer it had started ran to its end; it was not run again/);
  assert.deepEqual(
    bot.reportsFor(job.jobId).map((r) => r.status),
    ['instalando', 'erro'],
  );
  await waitFor(() => bot.reportsFor(next.jobId).find((r) => r.status === 'ok'), 'the next job');
  const lines = (await readFile(calls, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  assert.deepEqual(
    lines.map(([what, version]) => `${what} ${version}`),
    ['start 1.0.0', 'end 1.0.0', 'start 1.0.1', 'end 1.0.1'],
    'the two installers never ran at the same time',
  );
  assert.ok(BigInt(lines[2][2]) >= BigInt(lines[1][2]));

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
  assert.deepEqual(
    json.jobs.map((j: { exitLabel: string }) => j.exitLabel),
    ['OK', 'INTERRUPTED'],
  );

  second.child.kill('SIGTERM');
  assert.equal(await new Promise((resolve) => second.child.once('exit', resolve)), 0);
});

test('a bad config file is reported with the setting at fault (exit 78)', async () => {
  const dir = await tempDir('c2f-agent-');
  const configFile = path.join(dir, 'c2f-agent.json');
  await writeFile(
    configFile,
    JSON.stringify({ hostId: 'h', secret: 'nope', botUrl: 'ftp://x', installer: { type: 'command' }, colour: 'blue' }),
  );
  const result = await cli(['agent', '--config', configFile]);
  assert.equal(result.code, 78);
  assert.match(result.stderr, /secret: must match pattern/);
  assert.match(result.stderr, /unknown setting "colour"/);
  assert.match(result.stderr, /botUrl/);
  const missing = await cli(['agent']);
  assert.equal(missing.code, 64);
  assert.match(missing.stderr, /--config FILE is required/);
});
