import { compareVersions } from '../../plugin/release-tag.ts';
import type { HostRecord } from '../store/hosts.ts';

// Who gets what for one release: one planned job per host that follows the plugin. Pure: hosts in,
// decisions out, each skip with the reason an operator will read.

export interface ReleaseToPlan {
  repository: string;
  pluginId: string;
  version: string;
  prerelease: boolean;
  sha256: string;
}

export type PlannedJob =
  | { hostId: string; action: 'install' | 'update'; state: 'queued' | 'awaiting_approval'; notify: boolean; event: 'install' | 'update_changed' }
  | { hostId: string; action: 'install' | 'update'; state: 'skipped'; reason: string; event: 'update_nochange' | 'skipped' };

export function planJobs(release: ReleaseToPlan, hosts: readonly HostRecord[], options: { force?: boolean } = {}): PlannedJob[] {
  const planned: PlannedJob[] = [];
  for (const host of hosts) {
    if (!host.plugins.some((s) => s.repository === release.repository && s.pluginId === release.pluginId)) continue;
    const installed = host.inventory.find((entry) => entry.pluginId === release.pluginId);
    const action = installed?.version ? 'update' : 'install';
    const skip = (reason: string, event: 'update_nochange' | 'skipped' = 'skipped') => planned.push({ hostId: host.id, action, state: 'skipped', reason, event });
    if (!host.enabled) {
      skip('host disabled');
      continue;
    }
    if (!host.enrolled) {
      skip('host not enrolled yet');
      continue;
    }
    if (release.prerelease && host.channel === 'stable') {
      skip('pre-release; the host follows the stable channel');
      continue;
    }
    if (installed?.version && !options.force) {
      const order = compareVersions(installed.version, release.version);
      if (order === 0 && installed.sha256 === release.sha256) {
        skip(`no change: ${installed.version} with the same package is installed`, 'update_nochange');
        continue;
      }
      if (order !== undefined && order > 0) {
        skip(`downgrade: ${installed.version} is installed; redeliver with force to install ${release.version}`);
        continue;
      }
    }
    const event = action === 'update' ? 'update_changed' : 'install';
    if (host.policy === 'auto') planned.push({ hostId: host.id, action, state: 'queued', notify: false, event });
    else planned.push({ hostId: host.id, action, state: 'awaiting_approval', notify: host.policy === 'notify', event });
  }
  return planned;
}
