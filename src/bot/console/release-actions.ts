import { pathSegment } from '../http/request-input.ts';
import { registryPlugin } from '../read/registry.ts';
import type { OperatorDeps } from '../rollout/operator-actions.ts';
import { unyankRelease, yankRelease, type YankResult } from '../rollout/yank.ts';
import { yankText } from '../rollout/yank-text.ts';
import type { Html } from './html.ts';
import { confirmView } from './pages/confirm.ts';
import { yankFormView } from './pages/registry.ts';

// Yank and un-yank a version from the registry page: a yank first asks why (and whether to roll back), an
// un-yank is confirmed; then the same functions as the admin API and the CLI, as `by`.

const PATH = /^\/console\/registry\/([^/]+\/[^/]+)\/([^/]+)\/([^/]+)\/(yank|unyank)$/;

export type ReleaseOutcome = { kind: 'confirm'; view: Html } | { kind: 'redirect'; location: string };

export function isReleaseActionPath(path: string): boolean {
  return PATH.test(path);
}

export async function releaseAction(
  deps: OperatorDeps,
  path: string,
  form: URLSearchParams,
  csrf: string,
  by: string,
): Promise<ReleaseOutcome | undefined> {
  const match = PATH.exec(path);
  if (!match) return undefined;
  const target = { repository: pathSegment(match[1]), pluginId: pathSegment(match[2]), version: pathSegment(match[3]) };
  const back = `/console/registry/${target.repository}/${encodeURIComponent(target.pluginId)}`;
  const confirmed = form.get('confirm') === 'yes';
  let result: YankResult;
  if (match[4] === 'unyank') {
    if (!confirmed)
      return {
        kind: 'confirm',
        view: confirmView(
          `Un-yank ${target.pluginId} ${target.version}? It may be sent again: approvals, retries, forces and rollbacks to it are allowed; its rollout stays paused until someone resumes it.`,
          path,
          { csrf },
          back,
          false,
        ),
      };
    result = await unyankRelease(deps, target, { by });
  } else {
    if (!confirmed) {
      const version = (await registryPlugin(deps.db, target.repository, target.pluginId)).find(
        (v) => v.version === target.version,
      );
      return {
        kind: 'confirm',
        view: yankFormView(target.repository, target.pluginId, target.version, csrf, version?.hosts.length ?? 0),
      };
    }
    result = await yankRelease(deps, target, {
      by,
      reason: form.get('reason') ?? '',
      rollback: form.get('rollback') === 'true',
    });
  }
  return { kind: 'redirect', location: `${back}?done=${encodeURIComponent(yankText(match[4], result).join(' · '))}` };
}
