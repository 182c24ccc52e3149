import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = path.join(REPO, 'test', 'fixtures');

/**
 * Flags of the test runner that the Node processes tests start get as well. `npm test` runs Node with
 * --liftoff-only: PGlite's WebAssembly then runs as V8's baseline compiler made it, without optimizing it again
 * in background threads, which saves each process that opens PGlite seconds of CPU (DEVELOPERS.md).
 */
export const NODE_FLAGS = process.execArgv.filter((flag) => flag === '--liftoff-only');

// Removed when the process exits, after every hook: an `after` hook here would run before those of the files
// that import this one (hooks run in the order they are registered), and so remove the folders of a database or
// a process they have not stopped yet.
const cleanups: string[] = [];
process.once('exit', () => {
  for (const dir of cleanups) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

/** A fresh temporary folder, removed when the test file ends. */
export async function tempDir(prefix = 'c2f-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanups.push(dir);
  return dir;
}

/** A writable copy of a fixture plugin. */
export async function copyPlugin(name: string): Promise<string> {
  const dir = path.join(await tempDir(), name);
  await cp(path.join(FIXTURES, 'plugins', name), dir, { recursive: true });
  return dir;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {}); // a child that never reads its input
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `c2f-plugin` as users do: the built bundle (dist/cli.js, which `npm test` builds first). */
export function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return run(process.execPath, [...NODE_FLAGS, path.join(REPO, 'dist', 'cli.js'), ...args], options);
}

/** Polls until check gives a value (not undefined or false), failing after ms. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}
