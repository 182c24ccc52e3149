import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PluginError, type Diagnostic } from '../plugin/diagnostics.ts';
import { PACKAGE_NAME, pack, type PackSummary } from '../plugin/pack.ts';
import type { ActionInputs } from './inputs.ts';
import { locatePlugin } from './locate-plugin.ts';
import { parsePluginTag, type PluginTag } from '../plugin/release-tag.ts';
import { downloadPreviousPackage } from './previous-release.ts';
import { KEY_STATEMENT_FILE, parseStatement } from '../plugin/key-statement.ts';
import { isEncrypted, keyIdText, MinisignError, parseSecretKey, type SecretKey } from '../plugin/minisign.ts';
import { SIGNATURE_FILE, signPackage } from '../plugin/package-signature.ts';
import { publishAssets, type PublishRequest, type PublishResult } from './publish-assets.ts';
import type { ReleaseApi } from './release-api.ts';
import { PROVENANCE_FILE } from '../plugin/provenance-file.ts';
import type { Attestation } from './attest-package.ts';

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
  /** What the run offers for build provenance (read from the runner's environment). */
  runner?: { idToken: boolean; serverUrl: string; publicRepository: boolean };
}

export interface ActionResult {
  pluginDir: string;
  tag: string;
  pack: PackSummary;
  /** What versao was computed against, in words. */
  baseline: string;
  /** The publisher's signature, when the signing key was given. */
  signature?: { path: string; keyId: string };
  /** The build provenance, when attested; `stored` is GitHub's attestation id. */
  attestation?: Attestation & { stored?: number };
  publish?: PublishResult;
}

export class ActionError extends Error {}

export async function releasePlugin(inputs: ActionInputs, context: ActionContext): Promise<ActionResult> {
  const { reporter } = context;
  const tag = inputs.tag ? parsePluginTag(inputs.tag) : undefined;
  if (inputs.tag && !tag)
    reporter.info(
      `tag ${inputs.tag} is neither plugin-<id>-v<x.y.z> nor v<x.y.z>: the version check and the previous-release baseline are skipped`,
    );
  if (inputs.upload && !inputs.tag)
    throw new ActionError(
      'no tag to release: run on a tag push or a release event, set the "tag" input, or set "upload: false"',
    );
  if ((inputs.upload || inputs.baseline === 'previous-release') && inputs.tag && !context.api)
    throw new ActionError(
      'no GitHub token or repository: set the "token" input (and GITHUB_REPOSITORY=owner/repo outside GitHub Actions), or pack only with upload: false and baseline: none',
    );

  const runner = context.runner ?? { idToken: false, serverUrl: 'https://github.com', publicRepository: false };
  const attest = inputs.provenance === true || (inputs.provenance === 'auto' && runner.idToken);
  if (attest && !runner.idToken)
    throw new ActionError(
      'input "provenance" is true but this job cannot request an ID token: add "permissions: id-token: write" (and "attestations: write") to the job',
    );
  // The signing key and the key statement are checked before anything is built.
  const signingKey = inputs.signingKey ? openSigningKey(inputs) : undefined;
  const statement = inputs.keyStatement ? await keyStatementFiles(context.workspace, inputs.keyStatement) : [];
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

  const signature = signingKey ? await signPackageFile(signingKey, summary) : undefined;
  if (signature) reporter.info(`signed with key ${signature.keyId}: ${signature.path}`);
  const attestation = attest ? await attestBuild(summary, inputs, runner, context) : undefined;

  let publish: PublishResult | undefined;
  if (inputs.upload) {
    publish = await publishAssets(
      context.api!,
      {
        tag: inputs.tag,
        releaseName: `Plugin ${summary.plugin.name} ${inputs.tag}`,
        releaseBody: `${summary.plugin.name} ${summary.plugin.version}\n\nsha256 \`${summary.zip.sha256}\``,
        // The signature and key statement go first: the bot resolves a release once the zip and .sha256 are there.
        files: [
          ...(signature ? [{ name: SIGNATURE_FILE, path: signature.path, contentType: 'text/plain' }] : []),
          ...(attestation ? [{ name: PROVENANCE_FILE, path: attestation.path, contentType: 'application/json' }] : []),
          ...statement,
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
  return { pluginDir: relative, tag: inputs.tag, pack: summary, baseline: label, signature, attestation, publish };
}

/** Attests the package, and stores the attestation on GitHub when the token may (`attestations: write`). */
async function attestBuild(
  summary: PackSummary,
  inputs: ActionInputs,
  runner: NonNullable<ActionContext['runner']>,
  context: ActionContext,
): Promise<Attestation & { stored?: number }> {
  // Sigstore's signing libraries are a large part of the bundle: loaded only by a run that attests.
  const { actionsIssuer, attestPackage, sigstoreEndpoints } = await import('./attest-package.ts');
  const endpoints = sigstoreEndpoints(inputs, runner);
  let attestation: Attestation;
  try {
    attestation = await attestPackage({
      sha256: summary.zip.sha256,
      outDir: path.dirname(summary.zip.path),
      endpoints,
      issuer: actionsIssuer(runner.serverUrl),
    });
  } catch (error) {
    throw new ActionError(
      `build provenance could not be signed with ${endpoints.fulcioUrl}: ${(error as Error).message}`,
    );
  }
  context.reporter.info(`build provenance: ${attestation.builtBy} (${attestation.path})`);
  if (!context.api) return attestation;
  try {
    const stored = await context.api.storeAttestation(attestation.bundle);
    context.reporter.info(
      stored === undefined ? 'attestation stored on GitHub' : `attestation ${stored} stored on GitHub`,
    );
    return { ...attestation, ...(stored === undefined ? {} : { stored }) };
  } catch (error) {
    context.reporter.annotate({
      severity: 'warning',
      code: 'attestation-not-stored',
      message: `the build provenance was not stored on GitHub (${(error as Error).message}); give the job "permissions: attestations: write". The bundle is still attached to the release as ${PROVENANCE_FILE}`,
    });
    return attestation;
  }
}

/** The signing-key input, opened with signing-password when it is sealed. */
function openSigningKey(inputs: ActionInputs): SecretKey {
  try {
    const text = inputs.signingKey.includes('\n')
      ? inputs.signingKey
      : `untrusted comment: signing key\n${inputs.signingKey}\n`;
    if (isEncrypted(text) && !inputs.signingPassword)
      throw new MinisignError('the key is sealed with a password: set the "signing-password" input');
    return parseSecretKey(text, inputs.signingPassword || undefined);
  } catch (error) {
    if (error instanceof MinisignError) throw new ActionError(`input "signing-key": ${error.message}`);
    throw error;
  }
}

/** gestor-plugin.zip.minisig beside the zip: the publisher's signature of this plugin, version and bytes. */
async function signPackageFile(key: SecretKey, summary: PackSummary): Promise<{ path: string; keyId: string }> {
  const signed = await signPackage(summary.zip.path, key, {
    pluginId: summary.plugin.id,
    version: summary.plugin.version,
  });
  const file = path.join(path.dirname(summary.zip.path), SIGNATURE_FILE);
  await writeFile(file, signed.text);
  return { path: file, keyId: keyIdText(key.keyId) };
}

/** gestor-plugin.keys and its signature, checked to be a statement (hosts check who signed it). */
async function keyStatementFiles(workspace: string, given: string): Promise<PublishRequest['files']> {
  const file = path.resolve(workspace, given);
  const statement = path.basename(file) === KEY_STATEMENT_FILE ? file : path.join(file, KEY_STATEMENT_FILE);
  const text = await readFile(statement, 'utf8').catch(() => {
    throw new ActionError(`input "key-statement": no ${statement}`);
  });
  try {
    parseStatement(text);
  } catch (error) {
    throw new ActionError(`input "key-statement": ${statement}: ${(error as Error).message}`);
  }
  await readFile(`${statement}.minisig`).catch(() => {
    throw new ActionError(
      `input "key-statement": no ${statement}.minisig beside it (c2f-plugin keys-statement writes both)`,
    );
  });
  return [
    { name: KEY_STATEMENT_FILE, path: statement, contentType: 'application/json' },
    { name: `${KEY_STATEMENT_FILE}.minisig`, path: `${statement}.minisig`, contentType: 'text/plain' },
  ];
}

type Baseline = { baseline: string | false | null; label: string };

async function resolveBaseline(
  inputs: ActionInputs,
  context: ActionContext,
  tag: PluginTag | undefined,
): Promise<Baseline> {
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
      if (!previous.zip)
        return { ...own, label: `${own.label} (release ${previous.release.tagName} has no ${PACKAGE_NAME})` };
      return { baseline: previous.zip, label: `${PACKAGE_NAME} of release ${previous.release.tagName}` };
    }
    default:
      return { baseline: path.resolve(context.workspace, inputs.baseline), label: inputs.baseline };
  }
}

function tagVersionMismatch(
  tagName: string,
  tag: PluginTag,
  summary: PackSummary,
  pluginDir: string,
): Diagnostic | undefined {
  if (tag.version === summary.plugin.version) return undefined;
  const hint = /[-+]/.test(tag.version)
    ? ' (Conn2Flow rejects pre-release versions: tag a plain x.y.z and set "prerelease: true")'
    : '';
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
