// Prints the test files for `npm test`, the slowest first: the runner starts them in the order given, four at a
// time, so a long file that starts last no longer runs alone at the end (the suite ends about half a minute
// sooner on two cores). The list is the slowest files of a run under load (DEVELOPERS.md says how to measure);
// a file it names that no longer exists is an error, a file it does not name runs after these.
import { globSync } from 'node:fs';

const SLOWEST_FIRST = [
  'test/e2e/console.test.ts',
  'test/bot/processes.test.ts',
  'test/cli/signing.test.ts',
  'test/e2e/staged-rollout.test.ts',
  'test/e2e/operator-walkthrough-pglite.test.ts',
  'test/bot/staged-rollouts.test.ts',
  'test/agent/conn2flow.test.ts',
  'test/e2e/operator-walkthrough-postgres.test.ts',
  'test/e2e/demo.test.ts',
  'test/package/tarball.test.ts',
  'test/e2e/bundle-commands.test.ts',
  'test/e2e/first-contact.test.ts',
  'test/e2e/malformed-input.test.ts',
  'test/action/action.test.ts',
  'test/bot/follow-rollouts.test.ts',
  'test/bot/bot-state.test.ts',
  'test/bot/app-registration.test.ts',
];

const all = globSync('test/**/*.test.ts').sort();
const missing = SLOWEST_FIRST.filter((file) => !all.includes(file));
if (missing.length) throw new Error(`scripts/test-files.ts names test files that do not exist: ${missing.join(', ')}`);
const rest = all.filter((file) => !SLOWEST_FIRST.includes(file));
process.stdout.write(`${[...SLOWEST_FIRST, ...rest].join('\n')}\n`);
