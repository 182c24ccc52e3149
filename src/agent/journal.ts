import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Job, Report } from '../protocol/messages.ts';
import type { HostStatus } from '../protocol/statuses.ts';
import { isProcessAlive } from '../process-alive.ts';
import { DiskFullError, isDiskFull } from './disk-full.ts';

// The agent's durable memory (SQLite, fsync on commit): every attempt of a job it accepted and what became
// of it, the reports still to send, and what it installed. An attempt is written here before the bot hears
// "accepted", a report before it is sent. Attempts, not jobs, are the unit: a job the bot sends again as a
// new attempt (approved after a notify, retried, forced) runs again; a repeat of one attempt does not.

export type JobPhase = 'received' | 'running' | 'done';

export interface JournalJob {
  attemptId: string;
  jobId: string;
  job: Job;
  phase: JobPhase;
  status: HostStatus;
  exitCode: number | null;
  message: string;
  report: Report | null;
  receivedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  installerPgid: number | null;
}

export interface OutgoingReport {
  seq: number;
  messageId: string;
  url: string;
  body: string;
  attempts: number;
  nextAt: number;
}

export interface InstalledPlugin {
  pluginId: string;
  version: string;
  sha256: string;
  installedAt: string;
}

// Each entry upgrades a journal from the version before it (pragma user_version); a new agent opens an old
// journal without losing what it holds.
const MIGRATIONS: string[] = [
  `
create table if not exists jobs (
  job_id text primary key,
  message_id text unique,
  plugin_id text not null,
  body text not null,
  phase text not null,
  status text not null,
  exit_code integer,
  message text not null default '',
  report text,
  received_at text not null,
  started_at text,
  finished_at text
);
create table if not exists outbox (
  seq integer primary key autoincrement,
  message_id text not null,
  url text not null,
  body text not null,
  attempts integer not null default 0,
  next_at integer not null,
  last_error text
);
create table if not exists owner (
  only_one integer primary key check (only_one = 1),
  pid integer not null,
  since text not null
);
create table if not exists installed (
  plugin_id text primary key,
  version text not null,
  sha256 text not null,
  installed_at text not null
);`,
  // Attempts: a job's id may now come back as a new attempt, which must run.
  `
create table attempts (
  attempt_id text primary key,
  job_id text not null,
  plugin_id text not null,
  body text not null,
  phase text not null,
  status text not null,
  exit_code integer,
  message text not null default '',
  report text,
  received_at text not null,
  started_at text,
  finished_at text
);
insert into attempts (attempt_id, job_id, plugin_id, body, phase, status, exit_code, message, report, received_at, started_at, finished_at)
  select coalesce(message_id, job_id), job_id, plugin_id, body, phase, status, exit_code, message, report, received_at, started_at, finished_at from jobs;
drop table jobs;
create index attempts_by_phase on attempts (phase, received_at);
create index attempts_by_job on attempts (job_id);`,
  // The process group of the installer an attempt started: a restarted agent waits for it before anything
  // else touches that plugin.
  `alter table attempts add column installer_pgid integer;`,
  // Publisher trust: keys pinned on first use or changed by a publisher's key statement, the last statement
  // applied per plugin, and every version installed (an operator's rollback may return to one of them).
  `
create table publisher_keys (
  plugin_id text not null,
  key_id text not null,
  key text not null,
  source text not null,
  added_at text not null,
  retired_at text,
  primary key (plugin_id, key_id)
);
create table key_statements (
  plugin_id text primary key,
  sequence integer not null,
  sha256 text not null,
  applied_at text not null
);
create table installed_versions (
  plugin_id text not null,
  version text not null,
  first_installed_at text not null,
  primary key (plugin_id, version)
);
insert into installed_versions (plugin_id, version, first_installed_at) select plugin_id, version, installed_at from installed;`,
];

type Row = Record<string, string | number | null>;

export class JournalInUseError extends Error {}

function diskFull(dataDir: string): DiskFullError {
  return new DiskFullError(
    `no space left on the device of ${dataDir}: the agent cannot keep its journal there; free some space and start it again`,
  );
}

export class Journal {
  readonly db: DatabaseSync;

  constructor(dataDir: string) {
    try {
      mkdirSync(dataDir, { recursive: true });
      this.db = new DatabaseSync(path.join(dataDir, 'journal.sqlite'), { timeout: 5000 });
      this.db.exec('pragma journal_mode = wal; pragma synchronous = full;');
      this.migrate();
    } catch (error) {
      if (isDiskFull(error, dataDir)) throw diskFull(dataDir);
      throw error;
    }
    this.dataDir = dataDir;
  }

  private readonly dataDir: string;

  private migrate(): void {
    const version = Number((this.db.prepare('pragma user_version').get() as Row).user_version);
    for (let next = version; next < MIGRATIONS.length; next++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[next]);
        this.db.exec(`pragma user_version = ${next + 1}`);
      });
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * Makes this process the journal's one running agent: two agents on one data folder would both run the
   * jobs it holds. An owner whose process is gone is replaced. (`agent status` only reads and never claims.)
   */
  claim(pid = process.pid): void {
    try {
      this.claimAs(pid);
    } catch (error) {
      if (isDiskFull(error, this.dataDir)) throw diskFull(this.dataDir);
      throw error;
    }
  }

  private claimAs(pid: number): void {
    this.transaction(() => {
      const row = this.db.prepare('select pid from owner').get() as Row | undefined;
      const owner = row ? Number(row.pid) : undefined;
      if (owner !== undefined && owner !== pid && isProcessAlive(owner)) {
        throw new JournalInUseError(
          `the agent data folder is in use by another agent (pid ${owner}); stop it, or give this agent its own dataDir`,
        );
      }
      this.db
        .prepare(
          'insert into owner (only_one, pid, since) values (1, ?, ?) on conflict (only_one) do update set pid = excluded.pid, since = excluded.since',
        )
        .run(pid, new Date().toISOString());
    });
  }

  release(pid = process.pid): void {
    this.db.prepare('delete from owner where pid = ?').run(pid);
  }

  /** Stores a new attempt; false when it is already known. */
  addAttempt(job: Job, receivedAt: string): boolean {
    const result = this.db
      .prepare(
        "insert into attempts (attempt_id, job_id, plugin_id, body, phase, status, received_at) values (?, ?, ?, ?, 'received', 'idle', ?) on conflict do nothing",
      )
      .run(job.attemptId, job.jobId, job.plugin.id, JSON.stringify(job), receivedAt);
    return result.changes === 1;
  }

  findAttempt(attemptId: string): JournalJob | undefined {
    const row = this.db.prepare('select * from attempts where attempt_id = ?').get(attemptId) as Row | undefined;
    return row && toJob(row);
  }

  /** The job's latest attempt. */
  latestAttempt(jobId: string): JournalJob | undefined {
    const row = this.db
      .prepare('select * from attempts where job_id = ? order by received_at desc, rowid desc limit 1')
      .get(jobId) as Row | undefined;
    return row && toJob(row);
  }

  attemptsInPhase(phase: JobPhase): JournalJob[] {
    return (
      this.db.prepare('select * from attempts where phase = ? order by received_at, rowid').all(phase) as Row[]
    ).map(toJob);
  }

  recentAttempts(limit: number): JournalJob[] {
    return (
      this.db.prepare('select * from attempts order by received_at desc, rowid desc limit ?').all(limit) as Row[]
    ).map(toJob);
  }

  /** Records the installer process group an attempt started (synchronously, before the installer does much). */
  setInstallerPgid(attemptId: string, pgid: number): void {
    this.db.prepare('update attempts set installer_pgid = ? where attempt_id = ?').run(pgid, attemptId);
  }

  markStarted(attemptId: string, at: string): void {
    this.db.prepare("update attempts set phase = 'running', started_at = ? where attempt_id = ?").run(at, attemptId);
  }

  /**
   * Records a status change and queues its report in one transaction, so a report is never sent for a state
   * the journal does not hold, and never lost once the state is held.
   */
  recordReport(report: Report, url: string, messageId: string, final: boolean): void {
    this.transaction(() => {
      this.db
        .prepare(
          `update attempts set status = ?, exit_code = ?, message = ?, report = ?, phase = case when ? then 'done' else phase end, finished_at = case when ? then ? else finished_at end where attempt_id = ?`,
        )
        .run(
          report.status,
          report.exitCode,
          report.message,
          JSON.stringify(report),
          final ? 1 : 0,
          final ? 1 : 0,
          report.sentAt,
          report.attemptId,
        );
      this.db
        .prepare('insert into outbox (message_id, url, body, next_at) values (?, ?, ?, 0)')
        .run(messageId, url, JSON.stringify(report));
    });
  }

  nextReport(): OutgoingReport | undefined {
    const row = this.db.prepare('select * from outbox order by seq limit 1').get() as Row | undefined;
    return (
      row && {
        seq: Number(row.seq),
        messageId: String(row.message_id),
        url: String(row.url),
        body: String(row.body),
        attempts: Number(row.attempts),
        nextAt: Number(row.next_at),
      }
    );
  }

  pendingReports(): number {
    return Number((this.db.prepare('select count(*) as n from outbox').get() as Row).n);
  }

  reportSent(seq: number): void {
    this.db.prepare('delete from outbox where seq = ?').run(seq);
  }

  reportFailed(seq: number, nextAt: number, error: string): void {
    this.db
      .prepare('update outbox set attempts = attempts + 1, next_at = ?, last_error = ? where seq = ?')
      .run(nextAt, error, seq);
  }

  setInstalled(plugin: InstalledPlugin): void {
    this.db
      .prepare(
        'insert into installed (plugin_id, version, sha256, installed_at) values (?, ?, ?, ?) on conflict (plugin_id) do update set version = excluded.version, sha256 = excluded.sha256, installed_at = excluded.installed_at',
      )
      .run(plugin.pluginId, plugin.version, plugin.sha256, plugin.installedAt);
    this.db
      .prepare(
        'insert into installed_versions (plugin_id, version, first_installed_at) values (?, ?, ?) on conflict do nothing',
      )
      .run(plugin.pluginId, plugin.version, plugin.installedAt);
  }

  /** Whether this host ever had this version of the plugin installed. */
  hadInstalled(pluginId: string, version: string): boolean {
    return (
      this.db.prepare('select 1 from installed_versions where plugin_id = ? and version = ?').get(pluginId, version) !==
      undefined
    );
  }

  removeInstalled(pluginId: string): void {
    this.db.prepare('delete from installed where plugin_id = ?').run(pluginId);
  }

  installed(): InstalledPlugin[] {
    return (this.db.prepare('select * from installed order by plugin_id').all() as Row[]).map((r) => ({
      pluginId: String(r.plugin_id),
      version: String(r.version),
      sha256: String(r.sha256),
      installedAt: String(r.installed_at),
    }));
  }

  private transaction(work: () => void): void {
    this.db.exec('begin immediate');
    try {
      work();
      this.db.exec('commit');
    } catch (error) {
      // SQLite may already have rolled back by itself (a full disk does that); nothing is left to undo then.
      try {
        this.db.exec('rollback');
      } catch {}
      throw error;
    }
  }
}

function toJob(row: Row): JournalJob {
  return {
    attemptId: String(row.attempt_id),
    jobId: String(row.job_id),
    job: JSON.parse(String(row.body)) as Job,
    phase: row.phase as JobPhase,
    status: row.status as HostStatus,
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    message: String(row.message),
    report: row.report === null ? null : (JSON.parse(String(row.report)) as Report),
    receivedAt: String(row.received_at),
    startedAt: row.started_at === null ? null : String(row.started_at),
    finishedAt: row.finished_at === null ? null : String(row.finished_at),
    installerPgid: row.installer_pgid === null || row.installer_pgid === undefined ? null : Number(row.installer_pgid),
  };
}
