// bench/agent: the agent's own overhead per job for a 50 MB package (download from loopback, SHA-256,
// inspection with every entry inflated and CRC-checked, journal writes, reports), the installer's time
// excluded, against `curl -o` + `sha256sum` + `unzip -l` of the same file in the same run. Goal: ≤ 1.5×.
// And the same job on agents that check the plugin's publisher: by its signature (minisign over the package's
// BLAKE2b-512, computed while it downloads), by its build provenance (a Sigstore bundle checked with the host's
// own trusted root: certificate chain, SCT, Rekor entry and inclusion proof, the in-toto statement), and by
// both; paired round by round with the agent that checks nothing. Goal: < 5 % each.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent } from '../src/agent/agent.ts';
import { completeConfig } from '../src/agent/config.ts';
import { formatPublicKey, generateKey, hashBytes, signHash } from '../src/plugin/minisign.ts';
import { trustedComment } from '../src/plugin/package-signature.ts';
import { writeZip, type ZipEntry } from '../src/plugin/zip-writer.ts';
import { GitHubStandIn } from '../dev/github/stand-in.ts';
import { FakeBot } from '../test/agent/fake-bot.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
// Every contender shares this process: each job starts from a collected heap, so one's garbage is not
// another's pause.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const SIZE_MB = 50;

const work = await mkdtemp(path.join(tmpdir(), 'c2f-bench-agent-'));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// A plugin-shaped package: mostly already-compressed assets (stored), some text (deflated).
const entries: ZipEntry[] = [
  {
    name: 'manifest.json',
    source: Buffer.from(JSON.stringify({ id: 'bench-plugin', name: 'Bench', version: '1.0.0' }, null, 4)),
  },
];
for (let i = 0; i < SIZE_MB; i++)
  entries.push({ name: `assets/images/photo-${i}.jpg`, source: randomBytes(1024 * 1024) });
for (let i = 0; i < 200; i++)
  entries.push({
    name: `modules/m${i % 10}/file-${i}.php`,
    source: Buffer.from(`<?php\n// ${'generated line of code '.repeat(2500)}\n`),
  });
const zipFile = path.join(work, 'gestor-plugin.zip');
await writeZip(zipFile, entries);
const bytes = await readFile(zipFile);
process.stdout.write(
  `package: ${(bytes.length / 1024 / 1024).toFixed(1)} MiB, ${entries.length} entries (target ${SIZE_MB} MB)\n`,
);

// The package is served by its own process, as a web server would serve it, for both contenders.
const SERVE = `const fs=require('fs');require('http').createServer((q,r)=>{r.writeHead(200,{'content-length':fs.statSync(process.argv[1]).size});fs.createReadStream(process.argv[1]).pipe(r)}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})`;
const server = spawn(process.execPath, ['-e', SERVE, zipFile], { stdio: ['ignore', 'pipe', 'inherit'] });
const packageUrl = await new Promise<string>((resolve) =>
  server.stdout.once('data', (d) => resolve(`http://127.0.0.1:${String(d).trim()}/gestor-plugin.zip`)),
);
const shell = (command: string) =>
  new Promise<void>((resolve, reject) =>
    spawn('sh', ['-c', command], { stdio: 'ignore' }).once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`)),
    ),
  );

const bot = await new FakeBot().start();
const publisher = generateKey();
const startAgent = async (name: string, extra: object) => {
  const agent = new Agent(
    completeConfig(
      {
        hostId: bot.hostId,
        secret: bot.secret,
        botUrl: bot.url,
        listen: { port: 0 },
        heartbeatSeconds: 3600,
        allowHttpDownloads: true,
        installer: { type: 'command', command: ['/bin/true'] },
        backups: { keep: 1 },
        ...extra,
      },
      path.join(work, name, 'c2f-agent.json'),
    ),
    { log: process.env.BENCH_VERBOSE ? (l) => process.stderr.write(`${l}\n`) : () => {} },
  );
  const { url } = await agent.start();
  return { agent, url: url! };
};
const plain = await startAgent('agent', {});
const checking = await startAgent('checking-agent', {
  publishers: { 'bench-plugin': { keys: [formatPublicKey(publisher).split('\n')[1]] } },
});
const github = await new GitHubStandIn().start();
const rootFile = path.join(work, 'trusted_root.json');
await writeFile(rootFile, JSON.stringify(await github.sigstore.trustedRoot()));
const build = {
  repository: 'conn2flow/bench-plugin',
  workflow: '.github/workflows/release.yml',
  ref: 'refs/tags/v1.0.0',
};
const attesting = await startAgent('attesting-agent', {
  publishers: {
    'bench-plugin': { keys: [formatPublicKey(publisher).split('\n')[1]], provenance: { repository: build.repository } },
  },
  sigstore: { trustedRoot: rootFile, issuer: github.sigstore.issuer },
});
const provenanceOnly = await startAgent('provenance-agent', {
  publishers: { 'bench-plugin': { provenance: { repository: build.repository } } },
  sigstore: { trustedRoot: rootFile, issuer: github.sigstore.issuer },
});
const provenance = await github.sigstore.attest(createHash('sha256').update(bytes).digest('hex'), build);
const signature = signHash(
  publisher,
  hashBytes(bytes),
  trustedComment({
    pluginId: 'bench-plugin',
    version: '1.0.0',
    sha256: createHash('sha256').update(bytes).digest('hex'),
  }),
);

/** Pushes a job for the package and returns the agent's own time on it (the installer's excluded). */
async function timeJob(agentUrl: string, signed: boolean, attested = false): Promise<number> {
  const job = await bot.jobFor(bytes, { pluginId: 'bench-plugin', version: '1.0.0', force: true });
  job.package.url = packageUrl;
  if (signed) job.package.signature = signature;
  if (attested) job.package.provenance = provenance;
  collectGarbage();
  const pushed = performance.now();
  await bot.push(agentUrl, job);
  while (!bot.reportsFor(job.jobId).some((r) => r.status === 'ok' || r.status === 'erro'))
    await new Promise((r) => setTimeout(r, 1));
  const total = performance.now() - pushed;
  const final = bot.reportsFor(job.jobId).at(-1)!;
  if (final.status !== 'ok') throw new Error(`the job failed: ${final.message}`);
  if (process.env.BENCH_VERBOSE)
    process.stderr.write(`${signed ? 'checking ' : ''}${JSON.stringify(final.timings)} total ${total.toFixed(0)}\n`);
  return total - (final.timings.installMs ?? 0);
}

const baseline: number[] = [];
const overhead: number[] = [];
const verified: number[] = [];
const attestedTimes: number[] = [];
const provenanceTimes: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const target = path.join(work, 'curl.zip');
  const started = performance.now();
  await shell(
    `curl -s -o ${target} ${packageUrl} && sha256sum ${target} > /dev/null && unzip -l ${target} > /dev/null`,
  );
  baseline.push(performance.now() - started);
  // Paired, in alternating order, so drift on a busy machine falls on both.
  const contenders = [
    async () => overhead.push(await timeJob(plain.url, false)),
    async () => verified.push(await timeJob(checking.url, true)),
    async () => attestedTimes.push(await timeJob(attesting.url, true, true)),
    async () => provenanceTimes.push(await timeJob(provenanceOnly.url, false, true)),
  ];
  for (let i = 0; i < contenders.length; i++) await contenders[(i + round) % contenders.length]();
}
await plain.agent.stop();
await checking.agent.stop();
await attesting.agent.stop();
await provenanceOnly.agent.stop();
await github.stop();
await bot.stop();
server.kill();
await rm(work, { recursive: true, force: true });

const b = median(baseline);
const a = median(overhead);
process.stdout.write(`curl -o + sha256sum + unzip -l: ${b.toFixed(0)} ms (median of ${ROUNDS})\n`);
process.stdout.write(`agent overhead (push → final report, installer time excluded): ${a.toFixed(0)} ms\n`);
process.stdout.write(`ratio ${(a / b).toFixed(2)} (goal ≤ 1.5)\n`);
// Each contender's median against the plain agent's: the share its checks add to a job.
const share = (times: number[]) => `${((median(times) / a - 1) * 100).toFixed(1)} %`;
process.stdout.write(`agent checking the signature: ${median(verified).toFixed(0)} ms, adds ${share(verified)}\n`);
process.stdout.write(
  `agent checking the build provenance: ${median(provenanceTimes).toFixed(0)} ms, adds ${share(provenanceTimes)}\n`,
);
process.stdout.write(`agent checking both: ${median(attestedTimes).toFixed(0)} ms, adds ${share(attestedTimes)}\n`);
process.stdout.write(`(medians of ${ROUNDS} rounds, contenders in rotating order; goal < 5 % each)\n`);
