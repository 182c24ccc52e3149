import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SlugLockTimeout, withSlugLock } from '../../src/agent/installers/slug-lock.ts';

// One install of a plugin at a time on the machine (Conn2Flow's temporary names are fixed per slug).

test("holders queue up; a dead holder's lock is taken over; a live one times out", async () => {
  const slug = `lock-test-${process.pid}`;
  const order: string[] = [];
  const hold = (name: string, ms: number) =>
    withSlugLock(slug, 5000, async () => {
      order.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      order.push(`${name} out`);
    });
  await Promise.all([hold('a', 300), hold('b', 10)]);
  assert.deepEqual(order, ['a in', 'a out', 'b in', 'b out']);

  const file = path.join(tmpdir(), `plg_${slug}.c2f-lock`);
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
  await writeFile(file, dead);
  assert.equal(
    await withSlugLock(slug, 1000, async () => readFile(file, 'utf8')),
    String(process.pid),
    'taken over from a process that is gone',
  );

  await writeFile(file, String(process.ppid));
  await assert.rejects(
    withSlugLock(slug, 300, async () => 'never'),
    SlugLockTimeout,
  );
  await writeFile(file, '');
  assert.equal(await withSlugLock(slug, 1000, async () => 'empty lock taken over'), 'empty lock taken over');
});
