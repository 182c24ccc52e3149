import * as core from '@actions/core';
import { context, getOctokit } from '@actions/github';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatDiagnostic, type Diagnostic } from '../plugin/diagnostics.ts';
import { readInputs } from './inputs.ts';
import { jobSummary } from './job-summary.ts';
import { octokitReleaseApi } from './octokit-release-api.ts';
import { releasePlugin, type ActionResult } from './release-plugin.ts';

// The Action: environment in, outputs and summary out; everything else is in releasePlugin().
// index.ts calls run(), and so does @github/local-action.

function tagFromEvent(): string {
  const release = (context.payload as { release?: { tag_name?: string } }).release;
  if (release?.tag_name) return release.tag_name;
  return context.ref?.startsWith('refs/tags/') ? context.ref.slice('refs/tags/'.length) : '';
}

function annotate(d: Diagnostic): void {
  const properties: core.AnnotationProperties = {
    title: d.code,
    file: d.file,
    startLine: d.line,
    startColumn: d.column,
  };
  if (d.severity === 'error') core.error(d.message, properties);
  else core.warning(d.message, properties);
}

function setOutputs({ pack, publish, signature, attestation }: ActionResult): void {
  core.setOutput('zip-path', pack.zip.path);
  core.setOutput('sha256', pack.zip.sha256);
  core.setOutput('sha256-path', pack.sha256File);
  core.setOutput('plugin-id', pack.plugin.id);
  core.setOutput('version', pack.plugin.version);
  core.setOutput('rows', JSON.stringify(pack.rows));
  core.setOutput('warnings', pack.warnings);
  if (signature) {
    core.setOutput('signature-path', signature.path);
    core.setOutput('signed-by', signature.keyId);
  }
  if (attestation) {
    core.setOutput('attestation-path', attestation.path);
    core.setOutput('built-by', attestation.builtBy);
    if (attestation.stored !== undefined) core.setOutput('attestation-id', attestation.stored);
  }
  if (!publish) return;
  core.setOutput('release-id', publish.release.id);
  core.setOutput('release-url', publish.release.htmlUrl);
  core.setOutput('asset-urls', JSON.stringify(publish.assets.map((a) => a.browserDownloadUrl)));
}

export async function run(): Promise<void> {
  core.info('conn2flow-plugin-release: packing a Conn2Flow plugin');
  try {
    const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
    const tempDir = path.join(process.env.RUNNER_TEMP || tmpdir(), `c2f-plugin-${process.pid}`);
    const inputs = readInputs((name) => core.getInput(name), tagFromEvent(), path.join(tempDir, 'out'));
    for (const secret of [inputs.token, inputs.signingKey, inputs.signingPassword]) if (secret) core.setSecret(secret);
    // Run outside GitHub (local-action, a shell), the repository comes from GITHUB_REPOSITORY or not at all.
    const repository = process.env.GITHUB_REPOSITORY ? context.repo : undefined;
    const api =
      inputs.token && repository
        ? octokitReleaseApi(getOctokit(inputs.token), repository.owner, repository.repo)
        : undefined;
    const result = await releasePlugin(inputs, {
      workspace,
      tempDir,
      api,
      reporter: { info: (m) => core.info(m), annotate },
      runner: {
        // Granted `id-token: write`, the runner sets these two.
        idToken: Boolean(process.env.ACTIONS_ID_TOKEN_REQUEST_URL && process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN),
        serverUrl: process.env.GITHUB_SERVER_URL || 'https://github.com',
        publicRepository:
          (context.payload as { repository?: { visibility?: string } }).repository?.visibility === 'public',
      },
    });
    setOutputs(result);
    // Runners always provide the summary file; local runners may not, and that is no reason to fail.
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(jobSummary(result)).write();
    else core.info(jobSummary(result));
    core.info(
      `${result.pack.plugin.id} ${result.pack.plugin.version}: ${result.pack.zip.path} sha256 ${result.pack.zip.sha256}`,
    );
  } catch (error) {
    const diagnostics = (error as { diagnostics?: Diagnostic[] }).diagnostics;
    core.setFailed(
      diagnostics
        ?.filter((d) => d.severity === 'error')
        .map(formatDiagnostic)
        .join('\n') || (error as Error).message,
    );
  }
}
