import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ago, when } from '../../src/bot/console/html.ts';

// One time format on every page: a <time> in UTC (the browser's script shows it in its own zone), how long
// ago or how soon beside it.

const now = Date.parse('2026-12-03T12:00:00.000Z');

test('how long ago, and how soon, in the largest whole unit', () => {
  assert.equal(ago(null, now), 'never');
  assert.equal(ago('2026-12-03T11:59:57.000Z', now), '3 s ago');
  assert.equal(ago('2026-12-03T11:50:00.000Z', now), '10 min ago');
  assert.equal(ago('2026-12-03T09:00:00.000Z', now), '3 h ago');
  assert.equal(ago('2026-11-30T12:00:00.000Z', now), '3 d ago');
  assert.equal(ago('2026-12-03T12:05:00.000Z', now), 'in 5 min');
  assert.equal(ago('2026-12-03T12:00:00.000Z', now), '0 s ago');
});

test('a moment is a <time> in UTC, with UTC on hover and how long ago beside it', () => {
  assert.equal(
    when('2026-12-03T11:50:00.000Z', now).text,
    '<time datetime="2026-12-03T11:50:00.000Z" title="2026-12-03 11:50:00 UTC">2026-12-03 11:50:00 UTC</time> ' +
      '<span class="ago" data-ago="2026-12-03T11:50:00.000Z">(10 min ago)</span>',
  );
  assert.equal(when(null, now).text, 'never');
});
