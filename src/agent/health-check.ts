import type { HealthCheckConfig } from './config.ts';

// After an install, the site is asked whether it still works: each configured page must answer 2xx or 3xx
// within the time limit, and its body (the first MiB) must not show a PHP fatal error. Conn2Flow's installer
// reports success for installs that leave the site throwing errors; this is how the agent finds out.

export type HealthResult = { ok: true; checked: string[] } | { ok: false; problem: string };

const MAX_BODY_BYTES = 1024 * 1024;

export async function checkSiteHealth(config: HealthCheckConfig): Promise<HealthResult> {
  const checked: string[] = [];
  for (const url of config.urls) {
    const problem = await checkPage(url, config);
    if (problem) return { ok: false, problem };
    checked.push(url);
  }
  return { ok: true, checked };
}

async function checkPage(url: string, config: HealthCheckConfig): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(config.timeoutSeconds * 1000), headers: { 'user-agent': 'c2f-agent health check' } });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError') return `${url} did not answer within ${config.timeoutSeconds} s`;
    return `${url} could not be reached (${e.cause?.code ?? e.message})`;
  }
  const body = await readStart(response);
  if (response.status < 200 || response.status >= 400) return `${url} answered HTTP ${response.status}${snippet(body)}`;
  const fatal = config.fatalPatterns.find((pattern) => body.includes(pattern));
  if (fatal) return `${url} answered HTTP ${response.status} with "${fatal}" in the page${snippet(body, body.indexOf(fatal))}`;
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
