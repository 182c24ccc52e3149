import { compareVersions } from '../../versions.ts';
import { compatibilityProblem, type Compatibility } from '../../protocol/compatibility.ts';
import { PLG_EXIT } from '../../protocol/exit-codes.ts';
import type { HostRecord } from '../store/hosts.ts';
import type { NewJob } from '../store/rollouts.ts';

// Who gets what for one release: one planned job per host that follows the plugin. Pure: hosts in,
// decisions out, each skip with the reason an operator will read. A host's inventory is what its site
// really has (the files, cross-checked by the agent), so a host whose last update failed is planned again.

export interface ReleaseToPlan {
  id: number;
  repository: string;
  pluginId: string;
  version: string;
  prerelease: boolean;
  sha256: string;
  /** The Conn2Flow versions the package is written for. */
  compatibility?: Compatibility | null;
}

/** Why a stable host's job is skipped for a pre-release (and re-planned when it is published as a release). */
export const PRERELEASE_SKIP = 'pre-release; the host follows the stable channel';

export function planJobs(
  release: ReleaseToPlan,
  hosts: readonly HostRecord[],
  options: { force?: boolean } = {},
): NewJob[] {
  const planned: NewJob[] = [];
  for (const host of hosts) {
    if (!host.plugins.some((s) => s.repository === release.repository && s.pluginId === release.pluginId)) continue;
    const installed = host.inventory.find((entry) => entry.pluginId === release.pluginId);
    const base = {
      hostId: host.id,
      releaseId: release.id,
      action: installed?.version ? 'update' : 'install',
      notify: false,
      force: Boolean(options.force),
      previousVersion: installed?.version ?? null,
      previousSha256: installed?.version ? installed.sha256 : null,
    } as const;
    const skip = (reason: string, event: 'update_nochange' | 'skipped' = 'skipped') =>
      planned.push({ ...base, state: 'skipped', reason, event });
    if (!host.enabled) {
      skip('host disabled');
      continue;
    }
    if (!host.enrolled) {
      skip('host not enrolled yet');
      continue;
    }
    if (release.prerelease && host.channel === 'stable') {
      skip(PRERELEASE_SKIP);
      continue;
    }
    if (installed?.version && !options.force) {
      const order = compareVersions(installed.version, release.version);
      if (order === 0 && installed.sha256 === release.sha256) {
        skip(`no change: ${installed.version} with the same package is installed`, 'update_nochange');
        continue;
      }
      if (order !== undefined && order > 0) {
        skip(`downgrade: ${installed.version} is installed; use "force" to install ${release.version}`);
        continue;
      }
    }
    const incompatible = host.gestorVersion
      ? compatibilityProblem(release.compatibility, host.gestorVersion)
      : undefined;
    if (incompatible) {
      planned.push({
        ...base,
        state: 'blocked',
        reason: `${release.pluginId} ${release.version} does not fit this site: ${incompatible}`,
        exitCode: PLG_EXIT.INCOMPATIBLE,
        exitLabel: 'INCOMPATIBLE',
        event: 'job_blocked',
      });
      continue;
    }
    const event = 'job_planned';
    if (host.policy === 'auto') planned.push({ ...base, state: 'queued', reason: null, event });
    else planned.push({ ...base, state: 'awaiting_approval', notify: host.policy === 'notify', reason: null, event });
  }
  return planned;
}
