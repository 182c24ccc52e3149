// bench/action-startup: time from process start to the Action's first log line, against a bare
// `node -e "console.log()"` measured in the same run. Goal: under 300 ms. Also prints dist/action.js's size.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

function firstLine(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      env: { ...process.env, GITHUB_WORKSPACE: REPO, INPUT_UPLOAD: 'false' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child.stdout.once('data', () => {
      resolve(Number(process.hrtime.bigint() - start) / 1e6);
      child.kill();
    });
    child.on('error', reject);
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const action: number[] = [];
const bare: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  bare.push(await firstLine(['-e', 'console.log("ready")']));
  action.push(await firstLine([path.join(REPO, 'dist', 'action.js')]));
}
const size = (await stat(path.join(REPO, 'dist', 'action.js'))).size;
console.log(`bare node to first line: ${median(bare).toFixed(0)} ms (median of ${ROUNDS})`);
console.log(
  `dist/action.js to first log line: ${median(action).toFixed(0)} ms (median of ${ROUNDS}), goal < 300 ms: ${median(action) < 300 ? 'met' : 'missed'}`,
);
console.log(`ratio action / bare node: ${(median(action) / median(bare)).toFixed(2)}`);
const chunks = path.join(REPO, 'dist', 'action-chunks');
let chunkBytes = 0;
for (const name of await readdir(chunks).catch(() => [])) chunkBytes += (await stat(path.join(chunks, name))).size;
console.log(
  `dist/action.js: ${(size / 1024).toFixed(0)} KiB, with ${(chunkBytes / 1024).toFixed(0)} KiB in dist/action-chunks/ (code shared with build provenance, loaded with it, and build provenance's own libraries, loaded only when a run attests)`,
);
