import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pushMessage, retryAfter } from '../../src/bot/delivery/push-message.ts';
import { generateSecret, verifyMessage } from '../../src/protocol/signing.ts';

// A small receiver standing in for hosts: each path behaves like a different host.
const secret = generateSecret();
const received: Array<{ path: string; verified: boolean; id: string }> = [];
let base = '';
const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const verified = verifyMessage(body, req.headers as Record<string, string>, [secret]);
  received.push({ path: req.url!, verified: verified.ok, id: String(req.headers['webhook-id']) });
  switch (req.url) {
    case '/ok':
      return void res
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'accepted', jobId: 'j1' }));
    case '/pinned':
      return void res
        .writeHead(409, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'refused', jobId: 'j1', reason: 'plugin pinned to 1.0.0' }));
    case '/gone':
      return void res.writeHead(410).end();
    case '/busy':
      return void res.writeHead(503, { 'retry-after': '120' }).end('busy');
    case '/moved':
      return void res.writeHead(302, { location: `${base}/ok` }).end();
    case '/invalid':
      return void res
        .writeHead(422, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'body fails the job schema' }));
    case '/chatty':
      // A 2 MiB answer, written in pieces: the bot keeps what it reads of the first 64 KiB and hangs up.
      res.writeHead(202, { 'content-type': 'application/json' });
      for (let i = 0; i < 32; i++) res.write(`${i === 0 ? '{"status":"accepted",' : ''}${'x'.repeat(64 * 1024)}`);
      return void res.end();
    case '/slow':
      return void setTimeout(() => res.writeHead(202).end('{}'), 1500);
  }
  res.writeHead(404).end();
});
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const push = (path: string, extra: { allowPrivateNetwork?: boolean; timeoutMs?: number; url?: string } = {}) =>
  pushMessage({
    url: extra.url ?? `${base}${path}`,
    body: '{"type":"job"}',
    secrets: [secret],
    messageId: 'msg_test',
    allowPrivateNetwork: extra.allowPrivateNetwork ?? true,
    timeoutMs: extra.timeoutMs,
  });

test('a signed push lands; the receiver verifies it', async () => {
  const outcome = await push('/ok');
  assert.equal(outcome.kind, 'delivered');
  const { status, body, headers } = outcome as Extract<typeof outcome, { kind: 'delivered' }>;
  assert.deepEqual(
    [status, body, headers['content-type']],
    [202, '{"status":"accepted","jobId":"j1"}', 'application/json'],
  );
  assert.deepEqual(received.at(-1), { path: '/ok', verified: true, id: 'msg_test' });
});

test("409 is a refusal with the host's reason; 410 means stop; 422 fails for good", async () => {
  assert.deepEqual(await push('/pinned'), { kind: 'refused', status: 409, reason: 'plugin pinned to 1.0.0' });
  assert.deepEqual(await push('/gone'), { kind: 'gone', status: 410 });
  assert.deepEqual(await push('/invalid'), {
    kind: 'failed',
    status: 422,
    error: 'the host answered 422: body fails the job schema',
  });
});

test('an answer larger than 64 KiB is cut there: the push still counts, and the rest is not read', async () => {
  const outcome = await push('/chatty');
  assert.equal(outcome.kind, 'delivered');
  const { body } = outcome as Extract<typeof outcome, { kind: 'delivered' }>;
  assert.ok(body.startsWith('{"status":"accepted",xxx'), body.slice(0, 40));
  assert.ok(body.length <= 64 * 1024, `kept ${body.length} characters`);
  assert.ok(body.length >= 16 * 1024, `kept ${body.length} characters`);
});

test('busy hosts are retried after their Retry-After; redirects are never followed', async () => {
  assert.deepEqual(await push('/busy'), {
    kind: 'retry',
    status: 503,
    error: 'the host answered 503: busy',
    retryAfterSeconds: 120,
  });
  const before = received.filter((r) => r.path === '/ok').length;
  const moved = await push('/moved');
  assert.equal(moved.kind, 'retry');
  assert.match((moved as { error: string }).error, /redirect, which pushes never follow/);
  assert.equal(received.filter((r) => r.path === '/ok').length, before, 'the redirect target was not called');
});

test('a host that does not answer in time, or is down, is retried', async () => {
  assert.deepEqual(await push('/slow', { timeoutMs: 200 }), {
    kind: 'retry',
    error: 'the host did not answer in time',
  });
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  assert.deepEqual(await push('', { url: `http://127.0.0.1:${port}/` }), {
    kind: 'retry',
    error: 'connection refused: the agent is not listening',
  });
});

test('without the private-network opt-in, loopback is never dialled, whatever the name', async () => {
  const count = received.length;
  const outcome = await push('', { url: `${base.replace('127.0.0.1', 'localhost')}/ok`, allowPrivateNetwork: false });
  assert.equal(outcome.kind, 'failed');
  assert.match((outcome as { error: string }).error, /localhost resolves only to loopback or private addresses/);
  const port = new URL(base).port;
  for (const literal of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::1]']) {
    const direct = await push('', { url: `http://${literal}:${port}/ok`, allowPrivateNetwork: false });
    assert.equal(direct.kind, 'failed', literal);
    assert.match((direct as { error: string }).error, /is not a public address/);
  }
  assert.equal(received.length, count, 'nothing reached the receiver');
});

test('Retry-After: seconds or an HTTP date, capped at a day', () => {
  assert.equal(retryAfter('30'), 30);
  assert.equal(retryAfter(new Date(Date.now() + 90_000).toUTCString()) !== undefined, true);
  assert.equal(retryAfter('999999'), 86_400);
  assert.equal(retryAfter('soon'), undefined);
  assert.equal(retryAfter(undefined), undefined);
});
