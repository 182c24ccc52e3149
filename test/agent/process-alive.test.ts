import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Journal } from '../../src/agent/journal.ts';
import { isProcessAlive, isProcessGroupAlive } from '../../src/process-alive.ts';
import { tempDir, waitFor } from '../helpers.ts';

// A process killed but not yet reaped by its parent (a zombie) still answers kill(pid, 0): an agent restarted
// right after `kill -9` must not take its dead predecessor for a live agent on the same data folder.

const state = (pid: number) => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
};

/** A child of a process that never waits for its children: once it exits it stays a zombie. */
async function zombie(): Promise<{ pid: number; parent: ReturnType<typeof spawn> }> {
  const parent = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 60'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  let out = '';
  parent.stdout!.on('data', (chunk) => (out += chunk));
  const pid = await waitFor(() => (/^\d+\n/.test(out) ? Number(out.trim()) : undefined), 'the child pid');
  await waitFor(() => state(pid) === 'Z', 'the child to be a zombie');
  return { pid, parent };
}

test('a zombie is not alive, and an agent data folder whose owner is a zombie can be claimed', async () => {
  const { pid, parent } = await zombie();
  try {
    assert.doesNotThrow(() => process.kill(pid, 0), 'the kernel still answers for a zombie');
    assert.equal(isProcessAlive(pid), false);
    assert.equal(isProcessAlive(parent.pid!), true);
    assert.equal(isProcessGroupAlive(parent.pid!), true, 'its group still has the live parent');
    const journal = new Journal(await tempDir());
    try {
      journal.claim(pid);
      assert.doesNotThrow(() => journal.claim(process.pid), 'the zombie owner is replaced');
      assert.throws(() => journal.claim(parent.pid!), /in use by another agent/);
    } finally {
      journal.close();
    }
  } finally {
    process.kill(-parent.pid!, 'SIGKILL');
  }
  await waitFor(() => !isProcessGroupAlive(parent.pid!), 'the group to be gone');
});
