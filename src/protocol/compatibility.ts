// A plugin's `compatibility` in its manifest (`{"min": "1.0.0", "max": "2.x"}`, Conn2Flow's template): the
// Conn2Flow versions (`$_GESTOR['versao']` in gestor/config.php) it is written for. Conn2Flow never reads it
// (trap 30); the agent refuses a package whose range excludes its site, and the bot holds such hosts at
// planning when it knows their version. A bound is x.y.z, or shorter with "x" for any (2.x, 2.9.x, 3).

export interface Compatibility {
  min?: string;
  max?: string;
}

export const COMPATIBILITY_BOUND = /^\d+(\.(\d+|x)){0,2}$/;

const parts = (version: string) => version.split('.').map((part) => (part === 'x' ? null : Number(part)));

/** Why a site at `siteVersion` is outside the range; undefined when it is inside (or the range names no bound). */
export function compatibilityProblem(
  compatibility: Compatibility | null | undefined,
  siteVersion: string,
): string | undefined {
  if (!compatibility || (!compatibility.min && !compatibility.max)) return undefined;
  const site = parts(siteVersion);
  if (site.some((n) => n === null || Number.isNaN(n)))
    return `the site's Conn2Flow version ${JSON.stringify(siteVersion)} cannot be compared with ${describeCompatibility(compatibility)}`;
  const compare = (bound: string, missing: 'low' | 'any'): number => {
    const b = parts(bound);
    for (let i = 0; i < 3; i++) {
      const want = b[i];
      if (want === null || (want === undefined && missing === 'any')) return 0;
      const d = (site[i] ?? 0) - (want ?? 0);
      if (d !== 0) return Math.sign(d);
    }
    return 0;
  };
  if (compatibility.min && compare(compatibility.min, 'low') < 0)
    return `it is for Conn2Flow ${describeCompatibility(compatibility)}; this site runs ${siteVersion}`;
  if (compatibility.max && compare(compatibility.max, 'any') > 0)
    return `it is for Conn2Flow ${describeCompatibility(compatibility)}; this site runs ${siteVersion}`;
  return undefined;
}

export function describeCompatibility(compatibility: Compatibility): string {
  if (compatibility.min && compatibility.max) return `${compatibility.min} to ${compatibility.max}`;
  if (compatibility.min) return `${compatibility.min} or later`;
  return `${compatibility.max} or earlier`;
}
