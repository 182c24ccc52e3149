import type { PgBoss } from 'pg-boss';
import { enqueueDeliveries } from '../delivery/deliver-rollout.ts';
import { COMPATIBILITY_BOUND, type Compatibility } from '../../protocol/compatibility.ts';
import type { ReleaseAssetsApi } from '../domain.ts';
import type { Database } from '../store/database.ts';
import { hostsFollowing, hostsWithIds, listLabelSchedules, type HostRecord } from '../store/hosts.ts';
import { hostsSkippedFor, replanSkippedJobs } from '../store/promotion.ts';
import { recordReleaseEvent, updateRelease, type ReleaseRow } from '../store/releases.ts';
import { createReleaseRollout, newRolloutId, type CreatedRollout } from '../store/rollouts.ts';
import { activeJobsOfHosts, releaseGraph } from '../store/staging.ts';
import { KEY_STATEMENT_FILE, MAX_STATEMENT_BYTES } from '../../plugin/key-statement.ts';
import { SIGNATURE_FILE } from '../../plugin/package-signature.ts';
import { DEFAULT_SIGSTORE_TRUST, MAX_PROVENANCE_BYTES, type SigstoreTrust } from '../../plugin/provenance.ts';
import { PROVENANCE_FILE } from '../../plugin/provenance-file.ts';
import { releaseProvenance } from './release-provenance.ts';
import { PackageRefused, readPackageManifest } from './package-manifest.ts';
import { releasePublisher } from './release-publisher.ts';
import { planJobs, PRERELEASE_SKIP } from './plan-jobs.ts';
import { pluginFromTag, type RepositoryReleaseConfig } from './release-tag-pattern.ts';
import { stageJobs } from './stage-jobs.ts';
import { ALL_AT_ONCE, parseStrategy, StrategyError, type Strategy } from './strategy.ts';

// A queued job per published release: which plugin and version the tag names, wait for gestor-plugin.zip
// and its .sha256 (they are often attached after the event), check GitHub's digest of the zip against the
// .sha256, download the package and read its manifest (the bytes checked against the .sha256, the id and
// version against the tag, the dependencies kept), then plan the rollout, put it in waves, and queue the
// deliveries that may go now. Runs safely any number of times.

export const PACKAGE = 'gestor-plugin.zip';
/** The most of gestor-plugin.zip.sha256 the bot reads (a bare checksum, perhaps with a file name). */
export const CHECKSUM_MAX_BYTES = 1024;

/** Thrown while the assets are not there yet: the queue retries with backoff. */
export class AssetsNotReadyError extends Error {}

export type ResolveOutcome =
  | { kind: 'rolled-out'; rollout: CreatedRollout }
  | { kind: 'ignored'; reason: string }
  | { kind: 'failed'; reason: string };

export interface ResolveDeps {
  db: Database;
  boss: PgBoss;
  api: ReleaseAssetsApi;
  /** The bot's rollout strategy, for repositories that declare none. */
  defaultStrategy?: Strategy;
  /** C2F_PUBLISHER_KEYS: the keys each named repository's releases must be signed with. */
  publisherKeys?: Record<string, string[]>;
  /** C2F_PROVENANCE_WORKFLOWS: the workflows that must have built each named repository's releases. */
  provenanceWorkflows?: Record<string, string[]>;
  /** The trusted root and issuer build provenance is checked against. */
  sigstore?: SigstoreTrust;
  now?: () => Date;
}

/** `release` is the row as the caller read it (read once per resolution). */
export async function resolveRelease(
  deps: ResolveDeps,
  given: ReleaseRow | undefined,
  config: RepositoryReleaseConfig = {},
): Promise<ResolveOutcome> {
  const { db } = deps;
  let release = given;
  if (!release) return { kind: 'ignored', reason: 'the release was never recorded' };
  const releaseId = release.id;
  let candidates: Promise<HostRecord[]> | undefined;
  if (release.state === 'failed' || release.state === 'ignored')
    return { kind: release.state, reason: release.error ?? '' } as ResolveOutcome;

  // The strategy is read and checked before anything else, and kept with the release it plans (a release
  // resolved before it was kept is planned with the repository's as it reads now).
  let strategy: Strategy;
  try {
    strategy = release.strategy ?? strategyOf(config, deps.defaultStrategy);
  } catch (error) {
    if (!(error instanceof StrategyError)) throw error;
    await updateRelease(db, releaseId, { state: 'failed', error: `${error.message}: nothing is rolled out` });
    return { kind: 'failed', reason: error.message };
  }
  if (release.state !== 'resolved') {
    const named = pluginFromTag(release.tag, config);
    if (named.kind === 'unnamed') {
      await updateRelease(db, releaseId, { state: 'ignored', error: named.reason });
      return { kind: 'ignored', reason: named.reason };
    }
    if (named.kind === 'invalid') {
      await updateRelease(db, releaseId, { state: 'failed', error: `${named.reason}: nothing is rolled out` });
      return { kind: 'failed', reason: named.reason };
    }
    // The plugin's followers are read while GitHub is: planning needs them the moment the package checks out.
    candidates = hostsFollowing(db, release.repository, named.pluginId);
    candidates.catch(() => {}); // awaited when planning, or dropped when the release fails first
    const github = await deps.api.getRelease(release.repository, releaseId);
    if (!github) throw new AssetsNotReadyError(`release ${release.tag} is not visible yet`);
    const zip = github.assets.find((a) => a.name === PACKAGE);
    const sha = github.assets.find((a) => a.name === `${PACKAGE}.sha256`);
    if (!zip || !sha)
      throw new AssetsNotReadyError(`release ${release.tag} has no ${zip ? `${PACKAGE}.sha256` : PACKAGE} yet`);
    if (!zip.digest) throw new AssetsNotReadyError(`GitHub has not computed the digest of ${PACKAGE} yet`);
    const signatureAsset = github.assets.find((a) => a.name === SIGNATURE_FILE);
    const statementAsset = github.assets.find((a) => a.name === KEY_STATEMENT_FILE);
    const statementSignatureAsset = github.assets.find((a) => a.name === `${KEY_STATEMENT_FILE}.minisig`);
    const required = requiredList(
      { name: 'C2F_PUBLISHER_KEYS', lists: deps.publisherKeys },
      config,
      'publisher-keys',
      release.repository,
    );
    const provenanceAsset = github.assets.find((a) => a.name === PROVENANCE_FILE);
    const attested = requiredList(
      { name: 'C2F_PROVENANCE_WORKFLOWS', lists: deps.provenanceWorkflows },
      config,
      'provenance-workflows',
      release.repository,
    );
    if (attested.values.length && !provenanceAsset)
      throw new AssetsNotReadyError(
        `release ${release.tag} has no ${PROVENANCE_FILE} yet (${attested.from} requires one)`,
      );
    if (required.values.length && !signatureAsset)
      throw new AssetsNotReadyError(
        `release ${release.tag} has no ${SIGNATURE_FILE} yet (${required.from} requires one)`,
      );
    if (Boolean(statementAsset) !== Boolean(statementSignatureAsset))
      throw new AssetsNotReadyError(
        `release ${release.tag} has ${statementAsset ? `no ${KEY_STATEMENT_FILE}.minisig` : `no ${KEY_STATEMENT_FILE}`} beside the other yet`,
      );
    // The package downloads while the .sha256 is read; its bytes are checked against it before any is used.
    const packageBytes = deps.api.download(release.repository, zip.id);
    packageBytes.catch(() => {}); // awaited below, or dropped when the release fails first
    const dropPackage = () => packageBytes.then((stream) => stream.cancel()).catch(() => {});
    const expected = (
      await deps.api.downloadText(release.repository, sha.id, CHECKSUM_MAX_BYTES).catch(async (error: unknown) => {
        await dropPackage();
        throw error;
      })
    ).trim();
    const fail = async (reason: string): Promise<ResolveOutcome> => {
      await dropPackage();
      await updateRelease(db, releaseId, {
        state: 'failed',
        error: reason,
        pluginId: named.pluginId,
        version: named.version,
      });
      return { kind: 'failed', reason };
    };
    if (!/^[0-9a-f]{64}$/.test(expected))
      return fail(
        `${PACKAGE}.sha256 of ${release.tag} does not hold a bare lowercase SHA-256 (Conn2Flow's installer would reject it too): ${JSON.stringify(expected.slice(0, 80))}`,
      );
    if (zip.digest !== `sha256:${expected}`)
      return fail(
        `the digest GitHub computed for ${PACKAGE} of ${release.tag} (${zip.digest}) differs from ${PACKAGE}.sha256 (${expected}): nothing is rolled out`,
      );
    const limits = new Map([
      [statementAsset, MAX_STATEMENT_BYTES],
      [provenanceAsset, MAX_PROVENANCE_BYTES],
    ]);
    const tooLarge = [signatureAsset, statementAsset, statementSignatureAsset, provenanceAsset].find(
      (a) => a && a.size > (limits.get(a) ?? 4096),
    );
    if (tooLarge)
      return fail(
        `${tooLarge.name} of ${release.tag} is ${tooLarge.size} bytes, larger than any the bot reads: nothing is rolled out`,
      );
    let dependencies;
    let compatibility: Compatibility | null;
    let blake2b: Buffer;
    try {
      const read = await readPackageManifest(() => packageBytes, {
        sha256: expected,
        pluginId: named.pluginId,
        version: named.version,
      });
      dependencies = read.manifest.dependencies ?? [];
      compatibility = compatibilityOf(read.manifest.compatibility);
      blake2b = read.blake2b;
    } catch (error) {
      if (error instanceof PackageRefused) return fail(error.message);
      await dropPackage();
      throw error;
    }
    const text = (asset: { id: number } | undefined, max: number) =>
      asset ? deps.api.downloadText(release!.repository, asset.id, max) : Promise.resolve(null);
    const [signature, statement, statementSignature, bundle] = await Promise.all([
      text(signatureAsset, 4096),
      text(statementAsset, MAX_STATEMENT_BYTES),
      text(statementSignatureAsset, 4096),
      text(provenanceAsset, MAX_PROVENANCE_BYTES),
    ]);
    const checked = releasePublisher({
      signature,
      keyStatement:
        statement !== null && statementSignature !== null ? { statement, signature: statementSignature } : null,
      requiredKeys: required.values,
      keysFrom: required.from,
      digests: { sha256: expected, blake2b },
      pluginId: named.pluginId,
      version: named.version,
    });
    if (!checked.ok) {
      await recordReleaseEvent(db, 'release_unverified', release, named.pluginId, {
        tag: release.tag,
        reason: checked.reason,
      });
      return fail(`publisher not verified: ${checked.reason}: nothing is rolled out`);
    }
    const built = releaseProvenance({
      bundle,
      repository: release.repository,
      sha256: expected,
      requiredWorkflows: attested.values,
      requiredBy: attested.from,
      sigstore: deps.sigstore ?? DEFAULT_SIGSTORE_TRUST,
    });
    if (!built.ok) {
      await recordReleaseEvent(db, 'release_unverified', release, named.pluginId, {
        tag: release.tag,
        reason: built.reason,
      });
      return fail(`build provenance not verified: ${built.reason}: nothing is rolled out`);
    }
    const resolved = {
      state: 'resolved',
      pluginId: named.pluginId,
      version: named.version,
      zipAssetId: zip.id,
      zipUrl: zip.browserDownloadUrl,
      zipSize: zip.size,
      zipSha256: expected,
      dependencies,
      compatibility,
      publishedAt: github.publishedAt,
      strategy,
      publisher: { ...checked.publisher, provenance: built.provenance },
      error: null,
    };
    await updateRelease(db, releaseId, resolved);
    release = { ...release, ...resolved };
  }
  const rollout = await planRollout(deps, release, strategy, candidates);
  if (!rollout.created && !release.prerelease) await promoteToStable(deps, release, rollout.rolloutId);
  return { kind: 'rolled-out', rollout };
}

/**
 * A pre-release published as a release: the stable-channel hosts its rollout skipped get their jobs now, in
 * the rollout's current wave (the controller releases them as it releases any held job).
 */
async function promoteToStable(deps: Pick<ResolveDeps, 'db'>, release: ReleaseRow, rolloutId: string): Promise<number> {
  const hostIds = await hostsSkippedFor(deps.db, rolloutId, PRERELEASE_SKIP);
  if (!hostIds.length) return 0;
  const hosts = [...(await hostsWithIds(deps.db, hostIds)).values()];
  const planned = planJobs(
    {
      id: release.id,
      repository: release.repository,
      pluginId: release.pluginId!,
      version: release.version!,
      prerelease: false,
      sha256: release.zipSha256!,
    },
    hosts,
  ).filter((job) => job.state === 'queued' || job.state === 'awaiting_approval');
  const stable = planned.map((job) => ({
    hostId: job.hostId,
    action: job.action,
    releaseTo: job.state,
    notify: job.notify,
    previousVersion: job.previousVersion,
    previousSha256: job.previousSha256,
  }));
  return deps.db.transaction((tx) =>
    replanSkippedJobs(
      tx,
      rolloutId,
      PRERELEASE_SKIP,
      stable,
      `${release.tag} was published as a release: the stable channel gets it`,
    ),
  );
}

/** The manifest's compatibility when it names a bound a host can be held to (the packer checks its form). */
function compatibilityOf(value: unknown): Compatibility | null {
  const c = value as Compatibility | undefined;
  const bound = (b: unknown) => typeof b === 'string' && COMPATIBILITY_BOUND.test(b);
  if (!c || typeof c !== 'object') return null;
  const kept = { ...(bound(c.min) ? { min: c.min } : {}), ...(bound(c.max) ? { max: c.max } : {}) };
  return kept.min || kept.max ? kept : null;
}

/**
 * A repository's required list (publisher keys, workflows): the bot's setting for it, else the repository's
 * own .github/conn2flow-release.yml, which anyone who may push to the repository can edit.
 */
function requiredList(
  setting: { name: string; lists: Record<string, string[]> | undefined },
  config: RepositoryReleaseConfig,
  key: 'publisher-keys' | 'provenance-workflows',
  repository: string,
): { values: string[]; from: string } {
  const own = setting.lists?.[repository];
  if (own) return { values: own, from: `${setting.name} for ${repository}` };
  const values = [config[key]].flat().filter((v): v is string => typeof v === 'string');
  return { values, from: `${key} in .github/conn2flow-release.yml` };
}

/** The repository's strategy (`rollout:` of .github/conn2flow-release.yml), else the bot's default. */
function strategyOf(config: RepositoryReleaseConfig, defaultStrategy: Strategy | undefined): Strategy {
  return config.rollout === undefined
    ? (defaultStrategy ?? ALL_AT_ONCE)
    : parseStrategy(config.rollout, 'rollout in .github/conn2flow-release.yml');
}

/**
 * A resolved release's rollout: who gets what (planJobs), in which wave and whether now (stageJobs), written
 * with the deliveries that may go at once, in one transaction. Runs once per release.
 */
export async function planRollout(
  deps: Pick<ResolveDeps, 'db' | 'boss' | 'now'>,
  release: ReleaseRow,
  strategy: Strategy,
  candidates = hostsFollowing(deps.db, release.repository, release.pluginId!),
): Promise<CreatedRollout> {
  const { db } = deps;
  const hosts = await candidates;
  const planned = planJobs(
    {
      id: release.id,
      repository: release.repository,
      pluginId: release.pluginId!,
      version: release.version!,
      prerelease: release.prerelease,
      sha256: release.zipSha256!,
      compatibility: release.compatibility,
    },
    hosts,
  );
  const rolloutId = newRolloutId();
  // Other jobs and other releases matter only to a release that has dependencies.
  const dependent = (release.dependencies ?? []).length > 0;
  const staged = stageJobs({
    rolloutId,
    planned,
    hosts: new Map(hosts.map((host) => [host.id, host])),
    labelSchedules: await listLabelSchedules(db),
    activeJobs: dependent
      ? await activeJobsOfHosts(
          db,
          planned.filter((job) => job.state !== 'skipped').map((job) => job.hostId),
        )
      : new Map(),
    releaseGraph: dependent ? await releaseGraph(db) : new Map(),
    strategy,
    release: {
      pluginId: release.pluginId!,
      dependencies: release.dependencies ?? [],
      publishedAt: release.publishedAt,
    },
    now: deps.now?.() ?? new Date(),
  });
  return createReleaseRollout(db, release, staged.jobs, (tx, jobs) => enqueueDeliveries(deps.boss, jobs, tx), {
    rolloutId,
    strategy: staged.strategy,
    notBefore: staged.notBefore?.toISOString() ?? null,
  });
}
