import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PluginError, type Diagnostic } from '../plugin/diagnostics.ts';
import { PACKAGE_NAME, pack, type PackSummary } from '../plugin/pack.ts';
import type { ActionInputs } from './inputs.ts';
import { locatePlugin } from './locate-plugin.ts';
import { parsePluginTag, type PluginTag } from '../plugin/release-tag.ts';
import { downloadPreviousPackage } from './previous-release.ts';
import { publishAssets, type PublishResult } from './publish-assets.ts';
import type { ReleaseApi } from './release-api.ts';

// The Action: locate the plugin ▶ check the tag ▶ find the versao baseline ▶ pack ▶ attach to the release.

export interface Reporter {
  info(message: string): void;
  /** A diagnostic whose file is relative to the workspace. */
  annotate(diagnostic: Diagnostic): void;
}

export interface ActionContext {
  workspace: string;
  tempDir: string;
  /** Absent when nothing needs GitHub (no upload and no previous-release baseline). */
  api?: ReleaseApi;
  reporter: Reporter;
}

export interface ActionResult {
  pluginDir: string;
  tag: string;
  pack: PackSummary;
  /** What versao was computed against, in words. */
  baseline: string;
  publish?: PublishResult;
}

export class ActionError extends Error {}

export async function releasePlugin(inputs: ActionInputs, context: ActionContext): Promise<ActionResult> {
  const { reporter } = context;
  const tag = inputs.tag ? parsePluginTag(inputs.tag) : undefined;
  if (inputs.tag && !tag) reporter.info(`tag ${inputs.tag} is neither plugin-<id>-v<x.y.z> nor v<x.y.z>: the version check and the previous-release baseline are skipped`);
  if (inputs.upload && !inputs.tag) throw new ActionError('no tag to release: run on a tag push or a release event, set the "tag" input, or set "upload: false"');
  if ((inputs.upload || inputs.baseline === 'previous-release') && inputs.tag && !context.api)
    throw new ActionError(
      'no GitHub token or repository: set the "token" input (and GITHUB_REPOSITORY=owner/repo outside GitHub Actions), or pack only with upload: false and baseline: none',
    );

  const pluginDir = await locatePlugin(context.workspace, inputs.path, inputs.environmentFile, tag);
  const relative = path.relative(context.workspace, pluginDir) || '.';
  reporter.info(`plugin folder: ${relative}`);

  await mkdir(context.tempDir, { recursive: true });
  const { baseline, label } = await resolveBaseline(inputs, context, tag);
  reporter.info(`versao baseline: ${label}`);
  await mkdir(inputs.outDir, { recursive: true });
  let summary: PackSummary;
  try {
    summary = await pack(pluginDir, {
      outDir: inputs.outDir,
      baseline: baseline === null ? undefined : baseline,
      allow: inputs.allow,
      maxFileSize: inputs.maxFileSize,
      maxTotalSize: inputs.maxTotalSize,
      onProgress: progressLogger(reporter),
    });
  } catch (error) {
    if (error instanceof PluginError) for (const d of error.diagnostics) reporter.annotate(inWorkspace(d, relative));
    throw error;
  }
  for (const d of summary.diagnostics) reporter.annotate(inWorkspace(d, relative));

  const mismatch = tag && inputs.checkVersion ? tagVersionMismatch(inputs.tag, tag, summary, relative) : undefined;
  if (mismatch) {
    reporter.annotate(mismatch);
    throw new PluginError([mismatch], 11);
  }
  if (tag?.pluginId && tag.pluginId !== summary.plugin.id) {
    reporter.annotate({
      severity: 'warning',
      code: 'tag-plugin-id',
      message: `tag ${inputs.tag} names plugin "${tag.pluginId}" but manifest.json says "${summary.plugin.id}"; Conn2Flow installs under the id of its plugins row, so make sure hosts use the right one`,
      file: path.posix.join(relative, 'manifest.json'),
    });
  }

  let publish: PublishResult | undefined;
  if (inputs.upload) {
    publish = await publishAssets(
      context.api!,
      {
        tag: inputs.tag,
        releaseName: `Plugin ${summary.plugin.name} ${inputs.tag}`,
        releaseBody: `${summary.plugin.name} ${summary.plugin.version}\n\nsha256 \`${summary.zip.sha256}\``,
        files: [
          { name: PACKAGE_NAME, path: summary.zip.path, contentType: 'application/zip' },
          { name: `${PACKAGE_NAME}.sha256`, path: summary.sha256File, contentType: 'text/plain' },
        ],
        overwrite: inputs.overwrite,
        createRelease: inputs.createRelease,
        draft: inputs.draft,
        prerelease: inputs.prerelease,
      },
      (message) => reporter.info(message),
    );
  }
  return { pluginDir: relative, tag: inputs.tag, pack: summary, baseline: label, publish };
}

type Baseline = { baseline: string | false | null; label: string };

async function resolveBaseline(inputs: ActionInputs, context: ActionContext, tag: PluginTag | undefined): Promise<Baseline> {
  const own: Baseline = { baseline: null, label: "the plugin's own db/data" };
  switch (inputs.baseline) {
    case 'none':
      return { baseline: false, label: 'none (every versao starts at 1)' };
    case 'plugin':
      return own;
    case 'previous-release': {
      if (!tag || !context.api) return { ...own, label: `${own.label} (no release tag to find a previous release by)` };
      const previous = await downloadPreviousPackage(context.api, tag.prefix, tag.version, context.tempDir);
      if (!previous) return { ...own, label: `${own.label} (no earlier release tagged ${tag.prefix}<version>)` };
      if (!previous.zip) return { ...own, label: `${own.label} (release ${previous.release.tagName} has no ${PACKAGE_NAME})` };
      return { baseline: previous.zip, label: `${PACKAGE_NAME} of release ${previous.release.tagName}` };
    }
    default:
      return { baseline: path.resolve(context.workspace, inputs.baseline), label: inputs.baseline };
  }
}

function tagVersionMismatch(tagName: string, tag: PluginTag, summary: PackSummary, pluginDir: string): Diagnostic | undefined {
  if (tag.version === summary.plugin.version) return undefined;
  const hint = /[-+]/.test(tag.version) ? ' (Conn2Flow rejects pre-release versions: tag a plain x.y.z and set "prerelease: true")' : '';
  return {
    severity: 'error',
    code: 'tag-version',
    message: `tag ${tagName} is version ${tag.version} but manifest.json says ${summary.plugin.version}: bump the manifest or fix the tag${hint} (set "check-version: false" to skip this check)`,
    file: path.posix.join(pluginDir, 'manifest.json'),
  };
}

function inWorkspace(d: Diagnostic, pluginDir: string): Diagnostic {
  return d.file && !path.isAbsolute(d.file) ? { ...d, file: path.posix.join(pluginDir, d.file) } : d;
}

function progressLogger(reporter: Reporter) {
  let lastPhase = '';
  let lastPercent = -1;
  return (p: { phase: string; done?: number; total?: number }) => {
    if (p.phase !== lastPhase) {
      lastPhase = p.phase;
      reporter.info(`${p.phase}...`);
    }
    if (p.phase === 'zip' && p.total) {
      const percent = Math.floor(((p.done ?? 0) / p.total) * 4) * 25;
      if (percent !== lastPercent && percent > 0) {
        lastPercent = percent;
        reporter.info(`zip: ${percent}% (${p.done}/${p.total} entries)`);
      }
    }
  };
}
