import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** The machine's own Node.js older than 24 (Debian's, or a runner's), which users meet before installing 24. */
export function olderNode(): { node: string; bin: string; version: string } {
  const node = ['/usr/bin/node', '/usr/local/bin/node'].find((candidate) => {
    if (!existsSync(candidate)) return false;
    return Number(execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim().slice(1).split('.')[0]) < 24;
  });
  assert.ok(
    node,
    'an older Node.js (/usr/bin/node or /usr/local/bin/node, as Debian and CI machines have) is expected here',
  );
  return {
    node,
    bin: path.dirname(node),
    version: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim().slice(1),
  };
}
