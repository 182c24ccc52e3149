import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compatibilityProblem } from '../../src/protocol/compatibility.ts';

// Conn2Flow's manifest template: {"min": "1.0.0", "max": "2.x"}; bounds may be shorter, with x for any.

test('a site inside the range is compatible; outside it, the reason names both versions', () => {
  const template = { min: '1.0.0', max: '2.x' };
  for (const site of ['1.0.0', '2.0.0', '2.9.43']) assert.equal(compatibilityProblem(template, site), undefined, site);
  assert.equal(compatibilityProblem(template, '3.0.0'), 'it is for Conn2Flow 1.0.0 to 2.x; this site runs 3.0.0');
  assert.equal(compatibilityProblem(template, '0.9.9'), 'it is for Conn2Flow 1.0.0 to 2.x; this site runs 0.9.9');
  assert.equal(compatibilityProblem({ max: '2.9.x' }, '2.9.43'), undefined);
  assert.match(compatibilityProblem({ max: '2.8' }, '2.9.0')!, /2\.8 or earlier; this site runs 2\.9\.0/);
  assert.equal(compatibilityProblem({ min: '2.9.43' }, '2.9.43'), undefined);
  assert.equal(compatibilityProblem({}, '1.0.0'), undefined);
  assert.equal(compatibilityProblem(undefined, '1.0.0'), undefined);
});
