import { test } from 'node:test';
import { executableAgent } from './bundle.ts';
import { operatorWalkthrough } from './operator-walkthrough.ts';

// The agents here are the single executable (dist-agent/c2f-agent-linux-x64), run where Node.js cannot be
// called; the PGlite walk-through runs them from the bundle.
test(
  'operator walk-through, bot from the bundle on PostgreSQL, agents as the single executable without Node.js: notify → approve, retry, force, restore, rollback, uninstall and reinstall, pull mode cut mid-answer, check-run buttons',
  { timeout: 240_000 },
  async () => operatorWalkthrough('postgres', await executableAgent()),
);
