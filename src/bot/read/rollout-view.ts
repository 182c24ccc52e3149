import type { Yank } from '../domain.ts';
import { waveSummaries, type WaveSummary } from '../rollout/wave-summary.ts';
import type { Queryable } from '../store/database.ts';
import { hostsWithIds, type HostRecord } from '../store/hosts.ts';
import { getRelease, type ReleaseRow } from '../store/releases.ts';
import { listEvents, type EventRecord } from './events.ts';
import { estimateRollout, type RolloutEstimate } from './rollout-estimate.ts';
import {
  getRollout,
  jobStates,
  rolloutJobs,
  rolloutJobsPage,
  type HostJob,
  type RolloutRow,
} from '../store/rollouts.ts';

// A rollout as each surface asks for it: one page of its jobs with their hosts (the console), every job (the
// admin API), or every job with its release and hosts (the check run, whose table names each host). Waves
// are summed from every job's wave and state, never from whole job rows the page does not show.

const TIMELINE_EVENTS = 20;

export interface RolloutPage {
  rollout: RolloutRow;
  waves: WaveSummary[];
  jobs: HostJob[];
  total: number;
  page: number;
  perPage: number;
  stateFilter: string | undefined;
  hosts: ReadonlyMap<string, HostRecord>;
  /** The rollout's latest events (its own and its jobs'), newest first: its timeline. */
  timeline: EventRecord[];
  /** A release's rollout whose release is yanked: the mark (nothing of it is sent). */
  yanked: Yank | null;
  /** When it likely ends (running rollouts only). */
  estimate: RolloutEstimate | null;
}

export interface RolloutPageQuery {
  state?: string;
  page: number;
  perPage: number;
}

export async function readRolloutPage(
  db: Queryable,
  id: string,
  query: RolloutPageQuery,
): Promise<RolloutPage | undefined> {
  const rollout = await getRollout(db, id);
  if (!rollout) return undefined;
  const { jobs, total } = await rolloutJobsPage(db, id, query);
  const waves = rollout.strategy ? waveSummaries(rollout, await jobStates(db, id)) : [];
  const hosts = await hostsOf(db, jobs);
  const timeline = await listEvents(db, { rolloutId: id, newestFirst: true, limit: TIMELINE_EVENTS });
  const yanked = rollout.kind === 'release' ? ((await getRelease(db, rollout.releaseId))?.yanked ?? null) : null;
  return {
    yanked,
    estimate: await estimateRollout(db, rollout, waves),
    rollout,
    waves,
    jobs,
    total,
    page: query.page,
    perPage: query.perPage,
    stateFilter: query.state,
    hosts,
    timeline,
  };
}

/** Every job of the rollout with its host's name, and its waves (the admin API's answer). */
export async function readRolloutWhole(
  db: Queryable,
  id: string,
): Promise<(RolloutRow & { waves: WaveSummary[]; jobs: Array<HostJob & { hostName: string | null }> }) | undefined> {
  const rollout = await getRollout(db, id);
  if (!rollout) return undefined;
  const jobs = await rolloutJobs(db, id);
  const hosts = await hostsOf(db, jobs);
  const named = jobs.map((job) => ({ ...job, hostName: hosts.get(job.hostId)?.name ?? null }));
  return { ...rollout, waves: waveSummaries(rollout, jobs), jobs: named };
}

/** What the check run shows: the rollout, its release, every job and the rollout's own hosts (not the fleet). */
export async function readRolloutForCheckRun(
  db: Queryable,
  id: string,
): Promise<{ rollout: RolloutRow; release: ReleaseRow; jobs: HostJob[]; hosts: Map<string, HostRecord> } | undefined> {
  const rollout = await getRollout(db, id);
  const release = rollout && (await getRelease(db, rollout.releaseId));
  if (!rollout || !release) return undefined;
  const jobs = await rolloutJobs(db, rollout.id);
  return { rollout, release, jobs, hosts: await hostsOf(db, jobs) };
}

/** The hosts of these jobs only (never the whole fleet). */
function hostsOf(db: Queryable, jobs: readonly HostJob[]): Promise<Map<string, HostRecord>> {
  return hostsWithIds(db, [...new Set(jobs.map((job) => job.hostId))]);
}
