import { isIP } from 'node:net';

// Where the bot may push. https only, unless the operator allows plain http; never to loopback, private,
// link-local or other special addresses unless the operator opts in (tests and the demo do). The same check
// runs on every address a host name resolves to, at push time.

export class HostUrlError extends Error {}

export interface UrlPolicy {
  allowHttp?: boolean;
  allowPrivateNetwork?: boolean;
}

export function validateHostUrl(raw: string, policy: UrlPolicy = {}): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HostUrlError(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw new HostUrlError(`${raw}: use https (plain http is allowed only with --allow-http, for tests and local networks)`);
  }
  if (url.username || url.password) throw new HostUrlError(`${raw}: credentials do not belong in the URL; hosts authenticate with their signing secret`);
  if (url.hash) throw new HostUrlError(`${raw}: a URL fragment is never sent; remove it`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivateNetwork && (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) && isForbiddenAddress(host)))) {
    throw new HostUrlError(`${raw}: ${host} is a loopback or private address; allow it explicitly (--allow-private-network) if this host really lives there`);
  }
  return url.toString();
}

/** Loopback, private, link-local, CGNAT, unspecified, multicast and other non-public addresses. */
export function isForbiddenAddress(address: string): boolean {
  if (isIP(address) === 4) return isForbiddenV4(address);
  if (isIP(address) === 6) {
    const lower = address.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isForbiddenV4(mapped[1]);
    return lower === '::' || lower === '::1' || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower) || /^ff/.test(lower) || lower.startsWith('64:ff9b:') || lower.startsWith('2001:db8');
  }
  return true;
}

function isForbiddenV4(address: string): boolean {
  const [a, b] = address.split('.').map(Number);
  return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)) || a >= 224;
}
