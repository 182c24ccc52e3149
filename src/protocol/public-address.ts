import ipaddr from 'ipaddr.js';

// Which network addresses count as public, judged by value whatever their spelling (IPv4-mapped and
// IPv4-compatible IPv6 read as the IPv4 they carry; NAT64, 6to4, Teredo, unique-local, link-local, CGNAT,
// "this network", benchmark, documentation, multicast and reserved ranges are not public). The bot pushes
// only to public addresses unless allowed; the agent follows a download's redirect only to them.

/** Any address outside the public unicast ranges (and anything that is not an address). */
export function isForbiddenAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  return ipaddr.process(address).range() !== 'unicast';
}
