import { test } from 'node:test';
import { operatorWalkthrough } from './operator-walkthrough.ts';

test(
  'operator walk-through from the built bundle, bot on PGlite: notify → approve, retry, force, restore, rollback, uninstall and reinstall, pull mode cut mid-answer, check-run buttons',
  { timeout: 240_000 },
  () => operatorWalkthrough('pglite'),
);
