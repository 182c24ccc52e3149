import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkTimeZone,
  describeLocal,
  isOpen,
  nextOpening,
  parseWindow,
  WindowError,
  type Schedule,
} from '../../src/bot/rollout/maintenance-windows.ts';

// Windows in the host's own time zone, spans that cross midnight, and the next opening an operator is told.

test('windows are written as days and a span; mistakes are named', () => {
  assert.deepEqual(parseWindow('mon-fri 22:00-06:00'), {
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    from: '22:00',
    to: '06:00',
  });
  assert.deepEqual(parseWindow('fri-mon 01:00-02:00').days, ['sun', 'mon', 'fri', 'sat']);
  assert.deepEqual(parseWindow('weekends 00:00-24:00').days, ['sun', 'sat']);
  assert.deepEqual(parseWindow('daily 02:00-04:00').days.length, 7);
  assert.throws(() => parseWindow('monday 22:00-06:00'), { message: /"monday" is not a day/ });
  assert.throws(() => parseWindow('mon 25:00-06:00'), { message: /"25:00" is not a time/ });
  assert.throws(() => parseWindow('mon 06:00-06:00'), { message: /is empty/ });
  assert.throws(() => parseWindow('whenever'), WindowError);
  assert.equal(checkTimeZone('Asia/Tokyo'), 'Asia/Tokyo');
  assert.throws(() => checkTimeZone('Mars/Olympus'), { message: /not a time zone/ });
});

test('a window that spans midnight in another time zone: open on both sides of it, closed outside', () => {
  // Friday 22:00 to Saturday 02:00 in Tokyo (UTC+9): Friday 13:00 to 17:00 UTC.
  const tokyo: Schedule = { timeZone: 'Asia/Tokyo', windows: [parseWindow('fri 22:00-02:00')] };
  const at = (iso: string) => new Date(iso);
  assert.equal(isOpen(tokyo, at('2026-11-27T12:59:00Z')), false, 'Friday 21:59 in Tokyo');
  assert.equal(isOpen(tokyo, at('2026-11-27T13:00:00Z')), true, 'Friday 22:00 in Tokyo');
  assert.equal(isOpen(tokyo, at('2026-11-27T16:30:00Z')), true, 'Saturday 01:30 in Tokyo, after midnight');
  assert.equal(isOpen(tokyo, at('2026-11-27T17:00:00Z')), false, 'Saturday 02:00 in Tokyo: closed');
  assert.equal(isOpen(tokyo, at('2026-11-28T16:30:00Z')), false, 'Sunday 01:30 in Tokyo: Saturday has no window');
  const next = nextOpening(tokyo, at('2026-11-28T00:00:00Z'))!;
  assert.equal(next.toISOString(), '2026-12-04T13:00:00.000Z');
  assert.equal(describeLocal('Asia/Tokyo', next), 'Fri 22:00 Asia/Tokyo');
  assert.equal(
    nextOpening(tokyo, at('2026-11-27T14:00:00Z'))!.toISOString(),
    '2026-11-27T14:00:00.000Z',
    'open now: now',
  );
  assert.equal(nextOpening({ timeZone: 'UTC', windows: [] }, new Date()), undefined);
});

test('the next opening is always open and the minute before it closed, across time zones and DST changes', () => {
  const schedules: Schedule[] = [
    { timeZone: 'Europe/Berlin', windows: [parseWindow('sun 02:30-03:30'), parseWindow('mon-fri 23:00-01:00')] },
    { timeZone: 'America/Sao_Paulo', windows: [parseWindow('sat 00:00-24:00')] },
    { timeZone: 'America/New_York', windows: [parseWindow('daily 01:30-02:15')] },
    { timeZone: 'Australia/Lord_Howe', windows: [parseWindow('wed 12:00-12:30')] },
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const schedule of schedules) {
    for (let i = 0; i < 150; i++) {
      // Spread over a year, so the DST changes of 2026 are crossed.
      const at = new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 365 * 24 * 60) * 60_000);
      const next = nextOpening(schedule, at)!;
      assert.ok(next, `${schedule.timeZone} from ${at.toISOString()}`);
      assert.ok(
        isOpen(schedule, next),
        `${schedule.timeZone}: ${next.toISOString()} (from ${at.toISOString()}) is open`,
      );
      assert.ok(next.getTime() - at.getTime() <= 8 * 24 * 3600_000, 'within a week and a day');
      if (next.getTime() !== at.getTime())
        assert.equal(
          isOpen(schedule, new Date(next.getTime() - 60_000)),
          false,
          `${schedule.timeZone}: closed the minute before ${next.toISOString()}`,
        );
    }
  }
});
