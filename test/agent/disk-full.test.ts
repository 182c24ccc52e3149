import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { completeConfig } from '../../src/agent/config.ts';
import { REPO, run, waitFor } from '../helpers.ts';
import { FakeBot } from './fake-bot.ts';
import { packageWith } from './raw-zip.ts';

// A full disk is a reported failure, never a crash: the agent's data folder sits on a small tmpfs that fills
// during a download, under the journal, and before the agent starts; a download cut by kill -9 leaves a
// partial file that the next start removes.

const bot = new FakeBot();
let disk = '';
const agents: Agent[] = [];

before(async () => {
  await bot.start();
  // Not a tempDir(): that one is removed by a hook that may run before the unmount.
  disk = await mkdtemp(path.join(tmpdir(), 'c2f-disk-'));
  const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk]);
  assert.equal(mounted.code, 0, `these tests mount a 3 MiB tmpfs and need root: ${mounted.stderr}`);
});
after(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  await bot.stop();
  await run('umount', [disk]);
  await rm(disk, { recursive: true, force: true });
});

/** Fills the tmpfs; returns a function that frees the space. */
async function fill(): Promise<() => Promise<void>> {
  const filler = path.join(disk, `filler-${randomBytes(4).toString('hex')}`);
  const handle = await open(filler, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await handle.close();
  }
  return () => rm(filler, { force: true });
}

async function startAgent(name: string, installer: string[] = ['/bin/true']): Promise<{ agent: Agent; url: string }> {
  const dir = path.join(disk, name);
  const agent = new Agent(
    completeConfig(
      {
        hostId: bot.hostId,
        secret: bot.secret,
        botUrl: bot.url,
        listen: { port: 0 },
        heartbeatSeconds: 3600,
        allowHttpDownloads: true,
        installer: { type: 'command', command: installer },
      },
      path.join(dir, 'c2f-agent.json'),
    ),
    { log: () => {} },
  );
  agents.push(agent);
  return { agent, url: (await agent.start()).url! };
}

const final = (jobId: string) =>
  waitFor(
    () => bot.reportsFor(jobId).find((r) => r.status === 'ok' || r.status === 'erro'),
    `the final report of ${jobId}`,
    30_000,
  );

test('a download that fills the disk is reported 20 with the reason, leaves nothing behind, and the next job runs', async () => {
  const { url } = await startAgent('download');
  const big = await bot.jobFor(
    packageWith([{ name: 'assets/noise.bin', data: randomBytes(5 * 1024 * 1024), method: 0 }]),
  );
  assert.equal((await bot.push(url, big)).status, 202);
  const report = await final(big.jobId);
  assert.deepEqual([report.status, report.exitCode, report.exitLabel], ['erro', 20, 'DOWNLOAD']);
  assert.match(
    report.message,
    /no space left on the device of .*downloads while downloading \(ENOSPC\): free some space/,
  );
  assert.deepEqual(
    await readdir(path.join(disk, 'download', 'c2f-agent-data', 'downloads')),
    [],
    'no partial download left',
  );
  const small = await bot.jobFor(packageWith([]));
  assert.equal((await bot.push(url, small)).status, 202);
  assert.equal((await final(small.jobId)).status, 'ok');
});

test('a job that cannot be stored is refused with 503 (the bot retries); once space allows it is taken', async () => {
  const { url } = await startAgent('journal');
  const job = await bot.jobFor(packageWith([]));
  const free = await fill();
  const refused = await bot.push(url, job);
  assert.deepEqual(
    [refused.status, refused.body.error],
    [503, 'the host has no space left to store the job: the bot retries it later'],
  );
  await free();
  assert.equal((await bot.push(url, job)).status, 202);
  assert.equal((await final(job.jobId)).status, 'ok');
});

test('the disk fills while the installer runs: the report waits in memory and arrives once space allows', async () => {
  const filler = path.join(disk, 'installer-filler');
  const { url } = await startAgent('midjob', [
    '/bin/sh',
    '-c',
    `dd if=/dev/zero of=${filler} bs=64k 2>/dev/null; exit 0`,
  ]);
  const job = await bot.jobFor(packageWith([]));
  assert.equal((await bot.push(url, job)).status, 202);
  await waitFor(
    async () => (await stat(filler).catch(() => undefined)) !== undefined,
    'the installer to fill the disk',
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(
    bot.reportsFor(job.jobId).find((r) => r.status !== 'instalando'),
    undefined,
    'nothing more can be recorded yet',
  );
  await rm(filler, { force: true });
  const report = await final(job.jobId);
  assert.deepEqual([report.exitCode, report.exitLabel], [20, 'DOWNLOAD']);
  assert.match(report.message, /no space left on the device/);
});

test("started on a full disk the agent exits 75 with one line; with space it starts; a killed download's partial file is removed", async () => {
  const dir = path.join(disk, 'process');
  await mkdir(dir);
  const configFile = path.join(dir, 'c2f-agent.json');
  await writeFile(
    configFile,
    JSON.stringify({
      hostId: bot.hostId,
      secret: bot.secret,
      botUrl: bot.url,
      listen: { port: 0 },
      allowHttpDownloads: true,
      installer: { type: 'command', command: ['/bin/true'] },
    }),
  );
  const free = await fill();
  const full = await run(process.execPath, [path.join(REPO, 'dist', 'cli.js'), 'agent', '--config', configFile]);
  assert.equal(full.code, 75, full.stderr);
  assert.match(
    full.stderr,
    /^c2f-plugin agent: no space left on the device of .*: the agent cannot keep its journal there; free some space and start it again\n$/,
  );
  await free();

  // A package server that sends half the package, then nothing: the agent is killed mid-download.
  const half = Buffer.alloc(512 * 1024, 1);
  const stalling: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(half.length * 2) });
    res.write(half);
  });
  await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
  try {
    const start = () =>
      new Promise<{ child: ReturnType<typeof spawn>; url: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(REPO, 'dist', 'cli.js'), 'agent', '--config', configFile], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout!.on('data', (d) => {
          const url = /receiving jobs on (\S+)/.exec(String(d))?.[1];
          if (url) resolve({ child, url });
        });
        child.once('exit', (code) => reject(new Error(`agent exited ${code}`)));
      });
    const first = await start();
    const job = {
      ...(await bot.jobFor(packageWith([]))),
      package: {
        fileName: 'gestor-plugin.zip' as const,
        size: half.length * 2,
        sha256: 'a'.repeat(64),
        url: `http://127.0.0.1:${(stalling.address() as AddressInfo).port}/pkg`,
        urlExpiresAt: null,
      },
    };
    assert.equal((await bot.push(first.url, job)).status, 202);
    const downloads = path.join(dir, 'c2f-agent-data', 'downloads');
    await waitFor(
      async () => (await readdir(downloads).catch(() => [] as string[])).some((n) => n.endsWith('.partial')),
      'the partial download',
    );
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const second = await start();
    assert.deepEqual(await readdir(downloads), [], 'the partial file is gone after the restart');
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));

    // Restarted on a full disk with the journal it already has: 75 and one line too, not a crash.
    const freeAgain = await fill();
    const fullAgain = await run(process.execPath, [path.join(REPO, 'dist', 'cli.js'), 'agent', '--config', configFile]);
    await freeAgain();
    assert.equal(fullAgain.code, 75, fullAgain.stderr);
    assert.match(
      fullAgain.stderr,
      /^c2f-plugin agent: no space left on the device of .*: the agent cannot keep its journal there; free some space and start it again\n$/,
    );
  } finally {
    stalling.closeAllConnections();
    stalling.close();
  }
});
