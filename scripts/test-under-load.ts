// Runs test files again and again with busy loops beside them, the way a flaky test is found: a test that
// depends on timing fails here long before it fails once in CI. Prints each run's outcome and time, and the
// failing tests' names; exits 1 if any run failed.
//   node scripts/test-under-load.ts [--runs N] [--busy K] <test files...>
// --runs (default 5) and --busy (default 1: busy loops, one core each, as a loaded CI machine has beside it).
import { spawn, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '5' }, busy: { type: 'string', default: '1' } },
});
if (!positionals.length) {
  process.stderr.write('usage: node scripts/test-under-load.ts [--runs N] [--busy K] <test files...>\n');
  process.exit(64);
}
const loops = Array.from({ length: Number(values.busy) }, () =>
  spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }),
);
const stop = () => loops.forEach((loop) => loop.kill('SIGKILL'));
process.once('SIGINT', () => {
  stop();
  process.exit(130);
});
let failed = 0;
for (let run = 1; run <= Number(values.runs); run++) {
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [
      '--liftoff-only',
      '--test',
      '--test-concurrency=2',
      '--test-timeout=240000',
      '--test-force-exit',
      '--test-reporter=dot',
      ...positionals,
    ],
    { encoding: 'utf8' },
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (result.status === 0) process.stdout.write(`run ${run}: pass in ${seconds} s\n`);
  else {
    failed++;
    const names = [
      ...new Set((result.stdout.match(/^✖ .*$/gm) ?? []).map((line) => line.replace(/ \(\d+(\.\d+)?ms\)$/, ''))),
    ];
    process.stdout.write(`run ${run}: FAIL in ${seconds} s\n${names.map((n) => `  ${n}`).join('\n')}\n`);
  }
}
stop();
process.stdout.write(`${Number(values.runs) - failed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
