import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { streamOut } from '../../src/bot/http/stream-out.ts';
import { waitFor } from '../helpers.ts';

// An export written as it is read stops when its client goes: it neither waits for a 'drain' that never
// comes nor keeps reading the source (a page of 5,000 rows held per aborted download).

test('a download whose client goes away stops reading its source and ends', async () => {
  let pulled = 0;
  let finished = false;
  async function* rows() {
    for (;;) {
      pulled++;
      yield 'x'.repeat(64 * 1024);
    }
  }
  const server = createServer((_req, res) => {
    streamOut(res, { 'content-type': 'text/plain' }, rows(), (row) => `${row}\n`).finally(() => (finished = true));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  await reader.read();
  controller.abort();
  await waitFor(() => finished, 'the download to end once its client went');
  const after = pulled;
  assert.ok(after < 1000, `pulled ${after} rows`);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(pulled, after, 'nothing more is read');
  server.close();
});
