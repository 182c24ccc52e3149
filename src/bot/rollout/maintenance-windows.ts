// Maintenance windows: when a host's jobs may run, in the host's own time zone. A window is a set of
// weekdays and a time span; a span whose end is before its start runs past midnight into the next day
// (`fri 22:00-06:00` ends on Saturday morning). A host with no windows, own or from its labels, takes jobs at
// any time; with some, only inside one of them.

export interface Schedule {
  /** An IANA time zone (Europe/Berlin, America/Sao_Paulo); UTC when absent. */
  timeZone: string;
  windows: MaintenanceWindow[];
}

export { WEEKDAYS, type MaintenanceWindow, type Weekday } from '../domain.ts';
import { WEEKDAYS, type MaintenanceWindow, type Weekday } from '../domain.ts';

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DAY_NAMES: Record<string, readonly Weekday[]> = {
  daily: WEEKDAYS,
  weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  weekends: ['sat', 'sun'],
};

export class WindowError extends Error {}

/** `mon-fri 22:00-06:00`, `sat,sun 00:00-24:00`, `daily 02:00-04:00`, `weekdays 12:00-13:00`. */
export function parseWindow(text: string): MaintenanceWindow {
  const match = /^\s*([a-z,-]+)\s+(\d\d:\d\d)\s*-\s*(\d\d:\d\d)\s*$/i.exec(text);
  if (!match)
    throw new WindowError(
      `"${text}" is not a window: write days and a time span, like "mon-fri 22:00-06:00" or "daily 02:00-04:00"`,
    );
  return checkWindow({ days: parseDays(match[1].toLowerCase()), from: match[2], to: match[3] });
}

function parseDays(text: string): Weekday[] {
  const days = new Set<Weekday>();
  for (const part of text.split(',')) {
    if (DAY_NAMES[part]) {
      for (const day of DAY_NAMES[part]) days.add(day);
      continue;
    }
    const [first, last] = part.split('-');
    const start = WEEKDAYS.indexOf(first as Weekday);
    const end = last === undefined ? start : WEEKDAYS.indexOf(last as Weekday);
    if (start < 0 || end < 0)
      throw new WindowError(
        `"${part}" is not a day: use mon, tue, wed, thu, fri, sat, sun, ranges like mon-fri, daily, weekdays or weekends`,
      );
    for (let i = start; ; i = (i + 1) % 7) {
      days.add(WEEKDAYS[i]);
      if (i === end) break;
    }
  }
  return WEEKDAYS.filter((day) => days.has(day));
}

/** A window as stored (JSON): days known, times HH:MM, a span that is not empty. */
export function checkWindow(window: MaintenanceWindow): MaintenanceWindow {
  if (!Array.isArray(window.days) || !window.days.length || !window.days.every((d) => WEEKDAYS.includes(d)))
    throw new WindowError('a window needs its days (mon ... sun)');
  for (const time of [window.from, window.to])
    if (!TIME.test(time)) throw new WindowError(`"${time}" is not a time HH:MM (00:00 to 24:00)`);
  if (window.from === window.to)
    throw new WindowError(`the window ${window.from}-${window.to} is empty: for a whole day write 00:00-24:00`);
  if (window.from === '24:00') throw new WindowError('a window cannot start at 24:00: write 00:00');
  return { days: [...window.days], from: window.from, to: window.to };
}

export function checkTimeZone(timeZone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    throw new WindowError(`"${timeZone}" is not a time zone: use an IANA name like Europe/Berlin or America/Sao_Paulo`);
  }
}

const minutesOf = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3));

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minutes: number;
}

function localTime(timeZone: string, at: number): LocalTime {
  const parts: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(at)) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday.toLowerCase().slice(0, 3) as Weekday),
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/** The instant a local wall time happens in a time zone (a time skipped by a DST change comes out an hour later). */
function instantOf(timeZone: string, year: number, month: number, day: number, minutes: number): number {
  const wall = Date.UTC(year, month - 1, day, 0, minutes);
  const offsetAt = (t: number) => {
    const local = localTime(timeZone, t);
    return Date.UTC(local.year, local.month - 1, local.day, 0, local.minutes) - Math.floor(t / 60_000) * 60_000;
  };
  let instant = wall - offsetAt(wall);
  const corrected = wall - offsetAt(instant);
  if (corrected !== instant) instant = corrected;
  return instant;
}

/** Whether jobs may run at `at`. No windows: always. */
export function isOpen(schedule: Schedule, at: Date): boolean {
  if (!schedule.windows.length) return true;
  const local = localTime(schedule.timeZone, at.getTime());
  const yesterday = WEEKDAYS[(local.weekday + 6) % 7];
  const today = WEEKDAYS[local.weekday];
  return schedule.windows.some((w) => {
    const from = minutesOf(w.from);
    const to = minutesOf(w.to);
    if (from < to) return w.days.includes(today) && local.minutes >= from && local.minutes < to;
    return (w.days.includes(today) && local.minutes >= from) || (w.days.includes(yesterday) && local.minutes < to);
  });
}

/** When the next window opens (`at` itself when one is open); undefined without windows. */
export function nextOpening(schedule: Schedule, at: Date): Date | undefined {
  if (!schedule.windows.length) return undefined;
  if (isOpen(schedule, at)) return at;
  const local = localTime(schedule.timeZone, at.getTime());
  let best: number | undefined;
  for (let offset = 0; offset <= 7; offset++) {
    const date = new Date(Date.UTC(local.year, local.month - 1, local.day + offset));
    const weekday = WEEKDAYS[date.getUTCDay()];
    for (const w of schedule.windows) {
      if (!w.days.includes(weekday)) continue;
      const start = firstOpenNear(
        schedule,
        instantOf(
          schedule.timeZone,
          date.getUTCFullYear(),
          date.getUTCMonth() + 1,
          date.getUTCDate(),
          minutesOf(w.from),
        ),
        at.getTime(),
      );
      if (start !== undefined && start > at.getTime() && (best === undefined || start < best)) best = start;
    }
    if (best !== undefined && offset >= 1) break;
  }
  return best === undefined ? undefined : new Date(best);
}

/**
 * The window's start as computed, or, when a DST change skipped that wall time, the first open minute
 * around it (a window from 02:30 on the night clocks jump from 02:00 to 03:00 opens at 03:00).
 */
function firstOpenNear(schedule: Schedule, start: number, after: number): number | undefined {
  if (isOpen(schedule, new Date(start)) && !isOpen(schedule, new Date(start - 60_000))) return start;
  for (
    let t = Math.max(start - 120 * 60_000, after + 60_000 - (after % 60_000));
    t <= start + 120 * 60_000;
    t += 60_000
  ) {
    if (isOpen(schedule, new Date(t))) return t;
  }
  return undefined;
}

/** "Mon 22:00 Europe/Berlin": an instant as the host's clock shows it. */
export function describeLocal(timeZone: string, at: Date): string {
  const local = localTime(timeZone, at.getTime());
  const day = WEEKDAYS[local.weekday];
  const time = `${String(Math.floor(local.minutes / 60)).padStart(2, '0')}:${String(local.minutes % 60).padStart(2, '0')}`;
  return `${day[0].toUpperCase()}${day.slice(1)} ${time} ${timeZone}`;
}

export function describeWindow(window: MaintenanceWindow): string {
  return `${window.days.join(',')} ${window.from}-${window.to}`;
}
