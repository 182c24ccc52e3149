import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fleetView } from '../../src/bot/console/pages/fleet.ts';

// The fleet is shown a page at a time: the links keep the filters, and there is no link past either end.

const fleet = (page: number) =>
  fleetView({ total: 120, page, perPage: 50, hosts: [], labels: ['canary'] }, { q: 'shop', label: 'canary', page });

test('the fleet pager keeps the filters and stops at both ends', () => {
  const first = String(fleet(1));
  assert.doesNotMatch(first, /rel="prev"/);
  assert.match(first, /<a href="\/console\/fleet\?q=shop&#38;label=canary&#38;page=2" rel="next">Next page<\/a>/);
  const middle = String(fleet(2));
  assert.match(middle, /page=1" rel="prev">Previous page/);
  assert.match(middle, /page=3" rel="next">Next page/);
  const last = String(fleet(3));
  assert.match(last, /page=2" rel="prev"/);
  assert.doesNotMatch(last, /rel="next"/);
});
