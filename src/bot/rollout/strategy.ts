import { createHash } from 'node:crypto';
import type { Strategy, Threshold, Wave } from '../domain.ts';

export type { Strategy, Threshold, Wave } from '../domain.ts';

// How a release reaches its hosts: in ordered waves. A wave takes hosts by label and/or a share of the
// rollout's hosts; it goes on to the next wave when enough of its jobs succeeded and its soak time passed,
// and halts the rollout when too many failed. Declared under `rollout:` in the plugin repository's
// .github/conn2flow-release.yml, with a default in the bot's configuration (C2F_ROLLOUT_STRATEGY); no waves
// means every host at once. Hosts that no wave takes go in a last wave of their own ("rest").

export const ALL_AT_ONCE: Strategy = { waves: [], rollbackOnHalt: false, minReleaseAgeSeconds: 0 };

export class StrategyError extends Error {}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** The longest soak or minimum release age: a year. Longer would outlast any date the bot computes with it. */
export const MAX_DURATION_SECONDS = 366 * 86400;

/** `45s`, `30m`, `2h`, `1d` (or a number of seconds), at most a year. */
export function parseDuration(value: unknown, what: string): number {
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$/.exec(value) : null;
  const written = match ? Number(match[1]) * UNITS[match[2]] : Number.NaN;
  const seconds = typeof value === 'number' ? value : written;
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new StrategyError(`${what} must be a duration like 45s, 30m, 2h or 1d (found ${JSON.stringify(value)})`);
  if (seconds > MAX_DURATION_SECONDS)
    throw new StrategyError(`${what} must be at most 366d (found ${JSON.stringify(value)})`);
  return seconds;
}

/** The most failures an error threshold may count. */
const MAX_THRESHOLD_COUNT = 1_000_000;

function parseThreshold(value: unknown, what: string): Threshold {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_THRESHOLD_COUNT)
    return { kind: 'count', value };
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
  if (match && Number(match[1]) > 0 && Number(match[1]) <= 100) return { kind: 'percent', value: Number(match[1]) };
  if (
    typeof value === 'string' &&
    /^\s*\d+\s*$/.test(value) &&
    Number(value) >= 1 &&
    Number(value) <= MAX_THRESHOLD_COUNT
  )
    return { kind: 'count', value: Number(value) };
  throw new StrategyError(
    `${what} must be a number of jobs (1 to ${MAX_THRESHOLD_COUNT}) or a percentage like "10%" (found ${JSON.stringify(value)})`,
  );
}

function parsePercent(value: unknown, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(String(value));
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!(percent > 0 && percent <= 100))
    throw new StrategyError(`${what} must be a percentage from 1% to 100% like "10%" (found ${JSON.stringify(value)})`);
  return percent;
}

const WAVE_KEYS = new Set(['name', 'labels', 'percent', 'successThreshold', 'errorThreshold', 'soak', 'approval']);
const KEYS = new Set(['waves', 'onHalt', 'minReleaseAge']);
const LABEL = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export function checkLabel(label: unknown): string {
  if (typeof label !== 'string' || !LABEL.test(label)) {
    throw new StrategyError(
      `${JSON.stringify(label)} is not a label: lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters`,
    );
  }
  return label;
}

/** A strategy from its YAML/JSON form (`rollout:` of .github/conn2flow-release.yml, or C2F_ROLLOUT_STRATEGY). */
export function parseStrategy(raw: unknown, where = 'rollout'): Strategy {
  if (raw === undefined || raw === null) return ALL_AT_ONCE;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new StrategyError(`${where} must be a mapping with waves, onHalt and minReleaseAge`);
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record))
    if (!KEYS.has(key)) throw new StrategyError(`${where}: unknown key "${key}" (known: ${[...KEYS].join(', ')})`);
  const waves = record.waves ?? [];
  if (!Array.isArray(waves)) throw new StrategyError(`${where}.waves must be a list`);
  if (waves.length > 20) throw new StrategyError(`${where}.waves: at most 20 waves`);
  const names = new Set<string>();
  const parsed = waves.map((wave, i) => {
    const at = `${where}.waves[${i}]`;
    if (!wave || typeof wave !== 'object' || Array.isArray(wave)) throw new StrategyError(`${at} must be a mapping`);
    const w = wave as Record<string, unknown>;
    for (const key of Object.keys(w))
      if (!WAVE_KEYS.has(key))
        throw new StrategyError(`${at}: unknown key "${key}" (known: ${[...WAVE_KEYS].join(', ')})`);
    const name = w.name ?? `wave ${i + 1}`;
    if (typeof name !== 'string' || !name.trim() || name.length > 60)
      throw new StrategyError(`${at}.name must be a short text`);
    if (names.has(name)) throw new StrategyError(`${at}.name: "${name}" is used twice`);
    names.add(name);
    const labels = w.labels === undefined ? [] : [w.labels].flat().map(checkLabel);
    if (w.approval !== undefined && w.approval !== 'required' && w.approval !== 'none')
      throw new StrategyError(`${at}.approval must be "required" or "none" (found ${JSON.stringify(w.approval)})`);
    return {
      name,
      labels,
      percent: w.percent === undefined ? null : parsePercent(w.percent, `${at}.percent`),
      successPercent:
        w.successThreshold === undefined ? 100 : parsePercent(w.successThreshold, `${at}.successThreshold`),
      errorThreshold: w.errorThreshold === undefined ? null : parseThreshold(w.errorThreshold, `${at}.errorThreshold`),
      soakSeconds: w.soak === undefined ? 0 : parseDuration(w.soak, `${at}.soak`),
      approvalRequired: w.approval === 'required',
    } satisfies Wave;
  });
  if (record.onHalt !== undefined && record.onHalt !== 'pause' && record.onHalt !== 'rollback')
    throw new StrategyError(`${where}.onHalt must be "pause" or "rollback"`);
  return {
    waves: parsed,
    rollbackOnHalt: record.onHalt === 'rollback',
    minReleaseAgeSeconds:
      record.minReleaseAge === undefined ? 0 : parseDuration(record.minReleaseAge, `${where}.minReleaseAge`),
  };
}

/** The waves a rollout runs: the declared ones, then "rest" for hosts none of them took. */
export interface AssignedWaves {
  waves: Wave[];
  /** Wave index per host id. */
  waveOf: Map<string, number>;
}

const REST: Omit<Wave, 'name'> = {
  labels: [],
  percent: null,
  successPercent: 100,
  errorThreshold: null,
  soakSeconds: 0,
};

/**
 * Puts each host in a wave, the same way every time for the same rollout (a restarted bot, a second bot
 * process): label waves take the hosts that carry a label; percentage waves take their share of the
 * rollout's hosts in an order given by a hash of the rollout and host ids.
 */
export function assignWaves(
  rolloutId: string,
  hosts: ReadonlyArray<{ id: string; labels: readonly string[] }>,
  strategy: Strategy,
): AssignedWaves {
  const waveOf = new Map<string, number>();
  if (!strategy.waves.length) {
    for (const host of hosts) waveOf.set(host.id, 0);
    return { waves: [], waveOf };
  }
  const ranks = new Map(hosts.map((host) => [host.id, rank(rolloutId, host.id)]));
  const order = [...hosts].sort((a, b) => (ranks.get(a.id)! < ranks.get(b.id)! ? -1 : 1));
  const waves = [...strategy.waves];
  waves.forEach((wave, index) => {
    const candidates = order.filter(
      (host) =>
        !waveOf.has(host.id) && (!wave.labels.length || wave.labels.some((label) => host.labels.includes(label))),
    );
    const take =
      wave.percent === null
        ? candidates.length
        : Math.min(candidates.length, Math.ceil((hosts.length * wave.percent) / 100));
    for (const host of candidates.slice(0, take)) waveOf.set(host.id, index);
  });
  const left = order.filter((host) => !waveOf.has(host.id));
  if (left.length) {
    waves.push({ name: uniqueName(waves, 'rest'), ...REST });
    for (const host of left) waveOf.set(host.id, waves.length - 1);
  }
  return { waves, waveOf };
}

function rank(rolloutId: string, hostId: string): string {
  return createHash('sha256').update(`${rolloutId}\0${hostId}`).digest('hex');
}

function uniqueName(waves: readonly Wave[], name: string): string {
  let candidate = name;
  for (let i = 2; waves.some((w) => w.name === candidate); i++) candidate = `${name} ${i}`;
  return candidate;
}

/** Whether the rollout's wave `index` waits for an operator's approval before its jobs go out. */
export function waitsForApproval(
  rollout: { strategy: { waves: readonly Wave[] } | null; approvedWave: number },
  index: number,
): boolean {
  return Boolean(rollout.strategy?.waves[index]?.approvalRequired) && rollout.approvedWave < index;
}

/** What a wave's jobs say while the wave waits for approval. */
export function approvalReason(index: number, wave: Wave): string {
  return `wave ${index + 1} (${wave.name}) waits for an operator's approval`;
}

/** "1 failure", "10 %": a threshold as the check run and CLI show it. */
export function describeThreshold(threshold: Threshold): string {
  return threshold.kind === 'count'
    ? `${threshold.value} failure${threshold.value === 1 ? '' : 's'}`
    : `${threshold.value} % failed`;
}

/** Whether the failures reached the wave's error threshold. */
export function errorThresholdReached(threshold: Threshold | null, failed: number, total: number): boolean {
  if (!threshold || failed === 0) return false;
  return threshold.kind === 'count'
    ? failed >= threshold.value
    : total > 0 && (failed * 100) / total >= threshold.value;
}
