import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WriteBatcher } from '../../src/bot/store/write-batcher.ts';

// Writes that arrive while one is being committed go out together; each caller gets its own result.

test('a lone write goes at once; a burst is written in a few batches, each caller getting its own result', async () => {
  const batches: number[][] = [];
  const batcher = new WriteBatcher<number, number>(async (items) => {
    batches.push(items);
    await new Promise((resolve) => setTimeout(resolve, 20));
    return items.map((n) => n * 10);
  });
  assert.equal(await batcher.add(1), 10);
  assert.deepEqual(batches, [[1]]);

  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => batcher.add(i)));
  assert.deepEqual(
    results,
    Array.from({ length: 50 }, (_, i) => i * 10),
  );
  assert.deepEqual(
    batches.slice(1),
    [[0], Array.from({ length: 49 }, (_, i) => i + 1)],
    'the first goes alone, the rest wait for it and go together',
  );
});

test('a failed batch rejects its own callers only; the next batch goes on', async () => {
  let calls = 0;
  const batcher = new WriteBatcher<string, string>(async (items) => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (items.includes('bad')) throw new Error('write failed');
    return items.map((s) => s.toUpperCase());
  }, 2);
  const outcomes = await Promise.allSettled([batcher.add('bad'), batcher.add('a'), batcher.add('b'), batcher.add('c')]);
  assert.equal(outcomes[0].status, 'rejected');
  assert.deepEqual(
    outcomes.slice(1).map((o) => (o.status === 'fulfilled' ? o.value : 'rejected')),
    ['A', 'B', 'C'],
    'batches of at most 2 after the failed one',
  );
  assert.equal(calls, 3);
  assert.equal(await batcher.add('d'), 'D', 'still writing after a failure');
});
