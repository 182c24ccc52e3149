// The bot's domain values, below both rollout/ (which decides with them) and store/ (which keeps them).
import type { Dependency } from '../protocol/messages.ts';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface MaintenanceWindow {
  days: Weekday[];
  /** Local start, HH:MM. */
  from: string;
  /** Local end, HH:MM (24:00 for midnight at the end of the day). */
  to: string;
}

export interface Threshold {
  /** A number of jobs, or a percentage of the wave's jobs. */
  kind: 'count' | 'percent';
  value: number;
}

export interface Wave {
  name: string;
  /** Hosts with any of these labels (all hosts when absent). */
  labels: string[];
  /** At most this share (1-100) of the rollout's hosts, picked among the candidates; absent: all of them. */
  percent: number | null;
  /** Share of the wave's jobs that must succeed for the next wave to start (default 100 %). */
  successPercent: number;
  /** Failed jobs that halt the rollout at once; absent: only the success threshold, at the end of the wave. */
  errorThreshold: Threshold | null;
  /** Seconds to wait after the wave succeeded before the next one starts. */
  soakSeconds: number;
  /** The wave starts only once an operator approved it (`approval: required`); absent in older rollouts. */
  approvalRequired?: boolean;
}

export interface Strategy {
  waves: Wave[];
  /** On a halt, roll back the hosts the rollout already updated. */
  rollbackOnHalt: boolean;
  /** Seconds a release must have been published before any host gets it. */
  minReleaseAgeSeconds: number;
}

/** A job of a plugin that is not finished on a host: its dependencies may hold another. */
export interface ActiveJob {
  jobId: string;
  pluginId: string;
  version: string;
  dependencies: readonly Dependency[];
}

/** Who signed a release, as the bot checked it. */
export interface ReleasePublisher {
  /** verified: by one of the required keys; unchecked: signed, but no key is required; unsigned. */
  status: 'verified' | 'unchecked' | 'unsigned';
  /** The key id the signature names (minisign's form), verified or not. */
  signedBy: string | null;
  signature: string | null;
  /** The required key that verified the signature: a trust-on-first-use host may pin it. */
  publisherKey: string | null;
  keyStatement: { statement: string; signature: string } | null;
  /** The release's build provenance, when it has one (absent in rows kept before provenance was read). */
  provenance?: ReleaseProvenance | null;
}

/** A release's build provenance (gestor-plugin.zip.sigstore.json) and what the bot's check of it found. */
export interface ReleaseProvenance {
  bundle: string;
  /** verified: by the release's repository (and a required workflow); unverified: not required, and it failed. */
  status: 'verified' | 'unverified';
  /** owner/repo/.github/workflows/file.yml@ref, when verified. */
  builtBy: string | null;
  /** Why it did not verify. */
  reason?: string;
}

// What the bot needs from GitHub, as plain values: the Probot app implements these with the installation's
// Octokit (github/), tests with the local GitHub stand-in.

export interface GitHubRelease {
  tagName: string;
  draft: boolean;
  prerelease: boolean;
  publishedAt: string | null;
  assets: Array<{ id: number; name: string; size: number; digest: string | null; browserDownloadUrl: string }>;
}

export interface ReleaseAssetsApi {
  getRelease(repository: string, releaseId: number): Promise<GitHubRelease | undefined>;
  /** Downloads a small asset (the .sha256) as text. */
  downloadText(repository: string, assetId: number, maxBytes: number): Promise<string>;
  /** An asset's bytes as a stream (the package, read for its manifest). */
  download(repository: string, assetId: number): Promise<ReadableStream<Uint8Array>>;
}

/** A private repository's release asset, streamed with the installation's token (the packages endpoint). */
export interface AssetStream {
  /** The asset's bytes and length, downloaded with the installation's token. */
  open(
    installationId: number,
    repository: string,
    assetId: number,
  ): Promise<{ body: ReadableStream<Uint8Array>; size: number | null }>;
}

/** What a rollout does, in words: "hello 1.3.0", "rollback of hello from 1.3.0", "uninstall of hello". */
export function rolloutWhat(rollout: { kind: string; pluginId: string; version: string }): string {
  if (rollout.kind === 'rollback') return `rollback of ${rollout.pluginId} from ${rollout.version}`;
  if (rollout.kind === 'uninstall') return `uninstall of ${rollout.pluginId}`;
  return `${rollout.pluginId} ${rollout.version}`;
}

/** A rollout's page title: "Rollout of hello 1.3.0", "Rollback of hello from 1.3.0", "Uninstall of hello". */
export function rolloutHeading(rollout: { kind: string; pluginId: string; version: string }): string {
  const what = rolloutWhat(rollout);
  return rollout.kind === 'release' ? `Rollout of ${what}` : `${what[0].toUpperCase()}${what.slice(1)}`;
}

/** A release's yank: nothing of it is sent while it holds. */
export interface Yank {
  at: string;
  by: string | null;
  reason: string;
}

/** Why an action on a yanked release is refused. */
export function yankedText(release: { pluginId: string | null; version: string | null; yanked: Yank | null }): string {
  const who = release.yanked?.by ? ` by ${release.yanked.by}` : '';
  return `${release.pluginId} ${release.version} is yanked${who} (${release.yanked?.reason ?? 'no reason given'}): un-yank it first`;
}
