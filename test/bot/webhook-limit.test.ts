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

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** POSTs `megabytes` of body in 1 MB chunks (chunked, or with its length announced); resolves with the status. */
function send(megabytes: number, announce: boolean): Promise<number> {
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
    req.on('error', (error: NodeJS.ErrnoException) => (['EPIPE', 'ECONNRESET'].includes(error.code ?? '') ? resolve(-1) : reject(error)));
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
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

test('oversized webhook bodies are refused while read, side by side, within a memory ceiling', { timeout: 120_000 }, async () => {
  const before = await peakRssMb(bot.pid);
  const statuses = await Promise.all([send(100, false), send(100, false), send(100, false), send(400, true)]);
  for (const status of statuses) assert.ok(status === 413 || status === -1, `answered ${status}`);
  assert.ok(statuses.includes(413), 'at least one answer reached the sender before the connection closed');
  const peak = await peakRssMb(bot.pid);
  assert.ok(peak - before < 4 * 25 + 50, `peak RSS grew by ${Math.round(peak - before)} MB (from ${Math.round(before)} to ${Math.round(peak)} MB) for 700 MB of bodies`);
  // A body within the limit still reaches Probot, which refuses it for its missing signature.
  const small = await fetch(`${bot.url}/api/github/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'release', 'x-github-delivery': 'small' },
    body: '{}',
  });
  assert.ok(small.status >= 400 && small.status < 500 && small.status !== 413, `answered ${small.status}`);
  assert.equal((await fetch(`${bot.url}/healthz`)).status, 200, 'the bot is still up');
});
