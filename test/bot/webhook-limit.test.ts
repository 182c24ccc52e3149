import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { bundleBuilt, startBundleBot, type BundleBot } from '../e2e/bundle.ts';

// Webhook bodies are read before their signature can be checked, so their size is limited while they are
// read (GitHub's own cap is 25 MB): concurrent oversized bodies, announced or streamed, are refused with 413
// and cost the bot no more memory than the limit, in the shipped bundle.

const github = new GitHubStandIn();
let bot: BundleBot;
before(async () => {
  await bundleBuilt();
  await github.start();
  bot = await startBundleBot(github);
});
after(async () => {
  await bot?.stop();
  await github.stop();
});

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** POSTs `megabytes` of body in 1 MB chunks (chunked, or with its length announced); resolves with the status. */
function send(megabytes: number, announce: boolean, signature?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${bot.url}/api/github/webhooks`);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'release',
          'x-github-delivery': 'big',
          ...(signature ? { 'x-hub-signature-256': signature } : {}),
          ...(announce ? { 'content-length': String(megabytes * 1024 * 1024) } : {}),
        },
      },
      (res) => {
        res.resume();
        answered = true;
        resolve(res.statusCode!);
      },
    );
    let answered = false;
    // The bot closes the connection after its 413: writes still on their way fail, which is the point.
    req.on('error', (error: NodeJS.ErrnoException) =>
      ['EPIPE', 'ECONNRESET'].includes(error.code ?? '') ? resolve(-1) : reject(error),
    );
    const chunk = Buffer.alloc(1024 * 1024, 'secret-payload ');
    let sent = 0;
    const pump = () => {
      while (sent < megabytes && !answered && !req.destroyed) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

test('oversized webhook bodies are refused while read, side by side, within a memory ceiling', {
  timeout: 120_000,
}, async () => {
  // Resident memory, sampled while the bodies come, against what it was before.
  const before = await rssMb(bot.pid);
  const resident: number[] = [];
  let sending = true;
  const sampler = (async () => {
    while (sending) {
      resident.push(await rssMb(bot.pid));
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const statuses = await Promise.all([send(100, false), send(100, false), send(100, false), send(400, true)]);
  sending = false;
  await sampler;
  // Too large (413), or refused sooner because all the bodies together pass the budget of bytes in flight (503).
  for (const status of statuses) assert.ok(status === 413 || status === 503 || status === -1, `answered ${status}`);
  assert.ok(
    statuses.some((s) => s > 0),
    'at least one answer reached the sender before the connection closed',
  );
  const peak = Math.max(...resident);
  // The bodies in flight are at most 48 MB together; what was read and refused waits for the collector.
  assert.ok(
    peak - before < 250,
    `RSS grew by ${Math.round(peak - before)} MB (from ${Math.round(before)} to ${Math.round(peak)} MB) for 700 MB of bodies`,
  );
  // A body within the limit still reaches Probot, which refuses it for its missing signature.
  const small = await fetch(`${bot.url}/api/github/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'release', 'x-github-delivery': 'small' },
    body: '{}',
  });
  assert.ok(small.status >= 400 && small.status < 500 && small.status !== 413, `answered ${small.status}`);
  assert.equal((await fetch(`${bot.url}/healthz`)).status, 200, 'the bot is still up');
});

test('100 unsigned bodies of 24 MiB at once: the bot stays under 1 GB, keeps answering, and logs no payload', {
  timeout: 240_000,
}, async () => {
  // Resident memory sampled while the bodies come (the peak since start is PGlite's own first start).
  const healthy: number[] = [];
  const resident: number[] = [];
  let sending = true;
  const probe = (async () => {
    while (sending) {
      const answer = await fetch(`${bot.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(answer.status, 200);
      healthy.push(answer.status);
      resident.push(await rssMb(bot.pid));
    }
  })();
  const statuses = await Promise.all(Array.from({ length: 100 }, () => send(24, false, `sha256=${'0'.repeat(64)}`)));
  sending = false;
  await probe;
  for (const status of statuses) assert.ok([401, 503, -1].includes(status), `answered ${status}`);
  assert.ok(statuses.includes(503), 'bodies beyond the budget are refused at once');
  assert.ok(healthy.length > 0, '/healthz answered while the bodies came');
  resident.push(await rssMb(bot.pid));
  assert.ok(Math.max(...resident) < 1024, `RSS reached ${Math.round(Math.max(...resident))} MB`);
  assert.doesNotMatch(bot.output(), /secret-payload/, 'no payload in the log');
  assert.ok(bot.output().length < 200_000, `the log grew to ${bot.output().length} characters`);
});

test('64 deliveries may be read at once: the 65th is refused at once (503, Retry-After); the 64 then finish', {
  timeout: 60_000,
}, async () => {
  const url = new URL(`${bot.url}/api/github/webhooks`);
  // Each held request has sent its headers and part of its body; the bot counts it from its first byte.
  const held = Array.from({ length: 64 }, (_, i) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'x-github-event': 'release', 'x-github-delivery': `held-${i}` },
    });
    const answered = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
    });
    req.write('{"held":');
    return { req, answered };
  });
  // The bot counts a delivery once it has its headers; until it has all 64, a 65th may still be taken (and
  // refused for its missing signature), so it is sent again until the count is full.
  let refused: Response | undefined;
  for (let attempt = 0; attempt < 200 && refused?.status !== 503; attempt++) {
    refused = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'release', 'x-github-delivery': 'one-too-many' },
      body: '{}',
    });
    await refused.arrayBuffer();
  }
  assert.equal(refused?.status, 503, 'the 65th delivery is refused while 64 are being read');
  assert.equal(refused?.headers.get('retry-after'), '10');
  for (const { req } of held) req.end('1}');
  const statuses = await Promise.all(held.map(({ answered }) => answered));
  assert.ok(
    statuses.every((s) => s >= 400 && s < 500 && s !== 413 && s !== 503),
    `answered ${[...new Set(statuses)]}`,
  );
});
