// A reporter for Node's test runner: each test file's time (its top-level tests added up), slowest first.
//   node --test --test-reporter=./scripts/slowest-test-files.mjs --test-reporter-destination=stdout "test/**/*.test.ts"
// (add --test-reporter=spec --test-reporter-destination=stderr to see the tests as well).
export default async function* slowestTestFiles(source) {
  const files = new Map();
  let failed = 0;
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0) continue;
    const file = (event.data.file ?? '?').replace(`${process.cwd()}/`, '');
    files.set(file, (files.get(file) ?? 0) + (event.data.details?.duration_ms ?? 0));
    if (event.type === 'test:fail') failed++;
  }
  for (const [file, ms] of [...files].sort((a, b) => b[1] - a[1]))
    yield `${(ms / 1000).toFixed(1).padStart(7)} s  ${file}\n`;
  yield `${files.size} files; ${failed} top-level test(s) failed\n`;
}
