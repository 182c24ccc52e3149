import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconcileInventory } from '../../src/agent/inventory.ts';

// What a site has: its files, with Conn2Flow's row and the agent's journal checked against them.

const sha = (c: string) => c.repeat(64);
const journal = (pluginId: string, version: string, c: string) => ({
  pluginId,
  version,
  sha256: sha(c),
  installedAt: '2026-11-29T00:00:00Z',
});

test('files, row and journal agree: the version and the package', () => {
  const site = [{ pluginId: 'p', filesVersion: '1.0.0', row: { version: '1.0.0', sha256: sha('a'), status: 'A' } }];
  assert.deepEqual(reconcileInventory(site, [journal('p', '1.0.0', 'a')]), [
    { pluginId: 'p', version: '1.0.0', sha256: sha('a') },
  ]);
  assert.deepEqual(
    reconcileInventory(site, []),
    [{ pluginId: 'p', version: '1.0.0', sha256: sha('a') }],
    "the row's package when the journal has none",
  );
});

test('the row claims a version the files do not have: the files win, and the problem is said', () => {
  const site = [{ pluginId: 'p', filesVersion: '1.0.0', row: { version: '1.1.0', sha256: sha('b'), status: 'A' } }];
  assert.deepEqual(reconcileInventory(site, [journal('p', '1.0.0', 'a')]), [
    {
      pluginId: 'p',
      version: '1.0.0',
      sha256: sha('a'),
      problem: "Conn2Flow's plugins row says 1.1.0, but the files are 1.0.0",
    },
  ]);
  const gone = [{ pluginId: 'p', filesVersion: null, row: { version: '1.1.0', sha256: sha('b'), status: 'A' } }];
  assert.deepEqual(reconcileInventory(gone, []), [
    {
      pluginId: 'p',
      version: null,
      sha256: null,
      problem: "Conn2Flow's plugins row says 1.1.0 is installed, but gestor/plugins/p has no manifest.json",
    },
  ]);
});

test('the journal disagrees with the files (someone changed the site by hand): said, and no package claimed', () => {
  const site = [{ pluginId: 'p', filesVersion: '2.0.0', row: { version: '2.0.0', sha256: null, status: 'A' } }];
  assert.deepEqual(reconcileInventory(site, [journal('p', '1.0.0', 'a')]), [
    { pluginId: 'p', version: '2.0.0', sha256: null, problem: 'the agent installed 1.0.0, but the files are 2.0.0' },
  ]);
});

test('nothing there and nothing claims otherwise: not listed; without a view of the site, the journal', () => {
  assert.deepEqual(reconcileInventory([{ pluginId: 'p', filesVersion: null, row: null }], []), []);
  assert.deepEqual(reconcileInventory(undefined, [journal('p', '1.0.0', 'a')]), [
    { pluginId: 'p', version: '1.0.0', sha256: sha('a') },
  ]);
});
