import { isIP } from 'node:net';
import { isForbiddenAddress } from '../protocol/public-address.ts';

// Where the bot may push. https only, unless the operator allows plain http; never to an address outside the
// public unicast ranges unless the operator opts in (tests and the demo do). Addresses are judged by value with
// ipaddr.js, whatever their spelling: IPv4-mapped and IPv4-compatible IPv6 are read as the IPv4 they carry, and
// NAT64, 6to4, Teredo, unique-local, link-local, CGNAT, "this network", benchmark, documentation, multicast
// and reserved ranges are all refused. The same check runs on every address a host name resolves to, at push
// time, on the address actually dialled.

export class HostUrlError extends Error {}

export interface UrlPolicy {
  allowHttp?: boolean;
  allowPrivateNetwork?: boolean;
  /** How the caller can lift the refusal; defaults to the flags of "c2f-plugin hosts add". */
  howToAllow?: { http: string; privateNetwork: string };
}

const HOSTS_ADD_FLAGS = { http: 'with --allow-http', privateNetwork: 'explicitly (--allow-private-network)' };

export function validateHostUrl(raw: string, policy: UrlPolicy = {}): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HostUrlError(`"${raw}" is not a URL`);
  }
  const howToAllow = policy.howToAllow ?? HOSTS_ADD_FLAGS;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw new HostUrlError(
      `${raw}: use https (plain http is allowed only ${howToAllow.http}, for tests and local networks)`,
    );
  }
  if (url.username || url.password)
    throw new HostUrlError(
      `${raw}: credentials do not belong in the URL; hosts authenticate with their signing secret`,
    );
  if (url.hash) throw new HostUrlError(`${raw}: a URL fragment is never sent; remove it`);
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (
    !policy.allowPrivateNetwork &&
    (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) && isForbiddenAddress(host)))
  ) {
    throw new HostUrlError(
      `${raw}: ${host} is a loopback or private address; allow it ${howToAllow.privateNetwork} if this host really lives there`,
    );
  }
  return url.toString();
}

export { isForbiddenAddress };
