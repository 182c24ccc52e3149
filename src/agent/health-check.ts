import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { HealthCheckConfig } from './config.ts';

// After an install, the site is asked whether it still works: each configured page must answer 2xx or 3xx
// within the time limit, and its body (the first MiB) must not show a PHP fatal error. Conn2Flow's installer
// reports success for installs that leave the site throwing errors; this is how the agent finds out.
// PHP's opcache keeps running the previous code for up to opcache.revalidate_freq seconds after the files
// change (and, with opcache.validate_timestamps=0, until PHP-FPM reloads), so a page asked at once can pass
// on the old code: the check first waits for the site to be running the new code, then must pass several
// times in a row.

export type HealthResult =
  | { ok: true; checked: string[]; notes: string[] }
  | { ok: false; problem: string; notes: string[] };

const MAX_BODY_BYTES = 1024 * 1024;
/** When nothing says how long opcache may serve old code: a little more than its default (2 s). */
export const DEFAULT_SETTLE_SECONDS = 3;

export async function checkSiteHealth(
  config: HealthCheckConfig,
  options: { reloaded: boolean } = { reloaded: false },
): Promise<HealthResult> {
  const settle = await settleTime(config, options.reloaded);
  const notes = [settle.note];
  if (settle.seconds) await delay(settle.seconds * 1000);
  const checked: string[] = [];
  for (let pass = 1; pass <= config.passes; pass++) {
    for (const url of config.urls) {
      const problem = await checkPage(url, config);
      if (problem)
        return {
          ok: false,
          problem: config.passes > 1 ? `${problem} (check ${pass} of ${config.passes})` : problem,
          notes,
        };
      if (pass === 1) checked.push(url);
    }
    if (pass < config.passes && config.intervalSeconds) await delay(config.intervalSeconds * 1000);
  }
  return { ok: true, checked, notes };
}

/** How long the web server may still run the previous code, and why the agent thinks so. */
async function settleTime(config: HealthCheckConfig, reloaded: boolean): Promise<{ seconds: number; note: string }> {
  if (config.settleSeconds !== undefined)
    return {
      seconds: config.settleSeconds,
      note: `waited ${config.settleSeconds} s for the site to run the new code (settleSeconds)`,
    };
  const opcache = await opcacheSettings(config.phpIniDir);
  if (!opcache)
    return {
      seconds: DEFAULT_SETTLE_SECONDS,
      note: `waited ${DEFAULT_SETTLE_SECONDS} s for PHP's opcache to see the new files (its settings were not found)`,
    };
  if (!opcache.enabled)
    return { seconds: 0, note: `opcache is off in ${opcache.where}: the site runs the new files at once` };
  if (!opcache.validateTimestamps) {
    return {
      seconds: 0,
      note: reloaded
        ? `opcache.validate_timestamps=0 in ${opcache.where}: the web server was reloaded (reloadCommand)`
        : `warning: opcache.validate_timestamps=0 in ${opcache.where}: the web server runs the new code only after a reload; set reloadCommand (e.g. a PHP-FPM reload), or this check sees the previous version's code`,
    };
  }
  const seconds = opcache.revalidateFreq + 1;
  return {
    seconds,
    note: `waited ${seconds} s for PHP's opcache to see the new files (opcache.revalidate_freq=${opcache.revalidateFreq} in ${opcache.where})`,
  };
}

interface OpcacheSettings {
  where: string;
  enabled: boolean;
  validateTimestamps: boolean;
  revalidateFreq: number;
}

/** opcache's settings from the web server's PHP configuration (php.ini, then conf.d/*.ini in order, the last word winning). */
export async function opcacheSettings(dir?: string): Promise<OpcacheSettings | undefined> {
  const folder = dir ?? (await webServerPhpDir());
  if (!folder) return undefined;
  const files = [
    path.join(folder, 'php.ini'),
    ...(await readdir(path.join(folder, 'conf.d')).catch(() => [] as string[]))
      .filter((f) => f.endsWith('.ini'))
      .sort()
      .map((f) => path.join(folder, 'conf.d', f)),
  ];
  const values = new Map<string, string>();
  let found = false;
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    found = true;
    for (const line of text.split(/\r?\n/)) {
      const match = /^\s*(opcache\.(?:enable|validate_timestamps|revalidate_freq))\s*=\s*"?([^";\s]*)"?/.exec(line);
      if (match) values.set(match[1], match[2].toLowerCase());
    }
  }
  if (!found) return undefined;
  const on = (key: string, fallback: boolean) =>
    values.has(key) ? ['1', 'on', 'true', 'yes'].includes(values.get(key)!) : fallback;
  const freq = Number(values.get('opcache.revalidate_freq') ?? 2);
  return {
    where: folder,
    enabled: on('opcache.enable', true),
    validateTimestamps: on('opcache.validate_timestamps', true),
    revalidateFreq: Number.isFinite(freq) && freq >= 0 ? freq : 2,
  };
}

/** Debian's layout: /etc/php/<version>/fpm (PHP-FPM), else /etc/php/<version>/apache2, the newest version. */
async function webServerPhpDir(): Promise<string | undefined> {
  const versions = (await readdir('/etc/php').catch(() => [] as string[]))
    .filter((v) => /^\d+\.\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions)
    for (const sapi of ['fpm', 'apache2']) {
      const dir = path.join('/etc/php', version, sapi);
      if ((await readdir(dir).catch(() => undefined)) !== undefined) return dir;
    }
  return undefined;
}

async function checkPage(url: string, config: HealthCheckConfig): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(config.timeoutSeconds * 1000),
      headers: { 'user-agent': 'c2f-agent health check' },
    });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError') return `${url} did not answer within ${config.timeoutSeconds} s`;
    return `${url} could not be reached (${e.cause?.code ?? e.message})`;
  }
  const body = await readStart(response);
  if (response.status < 200 || response.status >= 400) return `${url} answered HTTP ${response.status}${snippet(body)}`;
  const fatal = config.fatalPatterns.find((pattern) => body.includes(pattern));
  if (fatal)
    return `${url} answered HTTP ${response.status} with "${fatal}" in the page${snippet(body, body.indexOf(fatal))}`;
  return undefined;
}

async function readStart(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // a body cut short still tells what it had
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8');
}

function snippet(body: string, at = 0): string {
  const text = body
    .slice(Math.max(0, at), Math.max(0, at) + 200)
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text ? `: ${text}` : '';
}
