import semver from 'semver';

/** Compares x.y.z[-pre][+build] versions by semver precedence; undefined when either is not a version. */
export function compareVersions(a: string, b: string): number | undefined {
  // semver would also take "v1.2.3" and "=1.2.3": a version here is the bare form only.
  if (!/^\d/.test(a) || !/^\d/.test(b) || !semver.valid(a) || !semver.valid(b)) return undefined;
  return semver.compare(a, b);
}
