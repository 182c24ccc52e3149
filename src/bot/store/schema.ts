// The store's schema, as ordered migrations. The same SQL runs on PGlite and PostgreSQL. A migration, once
// released, never changes: add a new one.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'hosts, releases, rollouts and jobs',
    sql: `
create table hosts (
  id text primary key,
  name text not null,
  url text,
  policy text not null check (policy in ('auto', 'notify', 'manual')),
  channel text not null check (channel in ('stable', 'prerelease')),
  enabled boolean not null default true,
  allow_private_network boolean not null default false,
  secret_sealed text,
  previous_secret_sealed text,
  enrolled_at timestamptz,
  last_seen_at timestamptz,
  agent_version text,
  inventory jsonb not null default '[]',
  created_at timestamptz not null default now()
);

create table subscriptions (
  host_id text not null references hosts(id) on delete cascade,
  repository text not null,
  plugin_id text not null,
  primary key (host_id, repository, plugin_id)
);
create index subscriptions_by_plugin on subscriptions (repository, plugin_id);

create table enrollment_tokens (
  token_hash text primary key,
  host_id text not null references hosts(id) on delete cascade,
  expires_at timestamptz not null,
  used_at timestamptz
);

create table webhook_deliveries (
  delivery_id text primary key,
  event text not null,
  action text,
  received_at timestamptz not null default now()
);

create table releases (
  id bigint primary key,
  repository text not null,
  installation_id bigint,
  tag text not null,
  head_sha text,
  plugin_id text,
  version text,
  prerelease boolean not null default false,
  private_repository boolean not null default false,
  state text not null default 'received',
  zip_asset_id bigint,
  zip_url text,
  zip_size bigint,
  zip_sha256 text,
  error text,
  received_at timestamptz not null default now(),
  resolved_at timestamptz
);

create table rollouts (
  id text primary key,
  release_id bigint not null unique references releases(id),
  repository text not null,
  plugin_id text not null,
  version text not null,
  check_run_id bigint,
  created_at timestamptz not null default now()
);

create table host_jobs (
  id text primary key,
  rollout_id text not null references rollouts(id),
  host_id text not null references hosts(id) on delete cascade,
  plugin_id text not null,
  action text not null,
  state text not null,
  notify boolean not null default false,
  force boolean not null default false,
  reason text,
  message_id text not null,
  attempts integer not null default 0,
  exit_code integer,
  exit_label text,
  installed_version text,
  last_report jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (rollout_id, host_id)
);
create index host_jobs_by_host_plugin on host_jobs (host_id, plugin_id, state);

create table job_history (
  id bigserial primary key,
  job_id text not null references host_jobs(id) on delete cascade,
  state text not null,
  detail text,
  at timestamptz not null default now()
);

create table reports_seen (
  message_id text primary key,
  job_id text not null,
  received_at timestamptz not null default now()
);

create table events (
  id bigserial primary key,
  kind text not null,
  host_id text,
  job_id text,
  repository text,
  plugin_id text,
  detail jsonb,
  at timestamptz not null default now()
);
create index events_by_time on events (at);
`,
  },
  {
    version: 2,
    name: 'releases waiting to be queued for resolution',
    sql: `
alter table releases add column queued_at timestamptz;
update releases set queued_at = received_at;
create index releases_to_queue on releases (received_at) where queued_at is null;
`,
  },
  {
    version: 3,
    name: 'first pushes claimed from the rollout, under a lease',
    sql: `
alter table host_jobs add column lease_until timestamptz;
create index host_jobs_delivering on host_jobs (host_id, plugin_id) where state = 'delivering';
`,
  },
  {
    version: 4,
    name: 'attempts, operator rollouts (rollback, uninstall), per-job releases, inventory from reports',
    sql: `
-- A rollout is what one release, or one operator request, asked for. Release rollouts stay one per release;
-- a rollback or an uninstall is a rollout of its own that names the rollout it undoes.
alter table rollouts add column kind text not null default 'release' check (kind in ('release', 'rollback', 'uninstall'));
alter table rollouts add column origin_rollout_id text references rollouts(id);
alter table rollouts add column requested_by text;
alter table rollouts drop constraint rollouts_release_id_key;
create unique index rollouts_one_per_release on rollouts (release_id) where kind = 'release';

-- The package a job carries (a rollback's jobs carry each host's previous release), and what the host had
-- before it (what a rollback returns to). message_id is the job's current attempt: each new attempt
-- (approval, retry, forced reinstall) gets a new one, which the host runs; retries of one attempt keep it.
alter table host_jobs add column release_id bigint references releases(id);
update host_jobs j set release_id = r.release_id from rollouts r where r.id = j.rollout_id;
alter table host_jobs alter column release_id set not null;
alter table host_jobs add column previous_version text;
alter table host_jobs add column previous_sha256 text;
alter table host_jobs add column requested_by text;
create index host_jobs_by_rollout_state on host_jobs (rollout_id, state);

-- Why a release never became a rollout (GitHub unreachable, assets missing, digest mismatch), and how often
-- resolving it failed.
-- Every report a host sent, once per message id (the idempotency key), with the attempt it was about: the
-- log tails an operator reads, and the record of which attempt said what.
create table job_reports (
  message_id text primary key,
  job_id text not null,
  attempt_id text,
  report jsonb,
  received_at timestamptz not null default now()
);
insert into job_reports (message_id, job_id, received_at) select message_id, job_id, received_at from reports_seen;
drop table reports_seen;
create index job_reports_by_job on job_reports (job_id, received_at);

alter table releases add column resolve_failures integer not null default 0;
alter table releases add column check_run_id bigint;
create index releases_by_plugin on releases (repository, plugin_id, version) where state = 'resolved';
`,
  },
  {
    version: 5,
    name: 'host messages are single-use within the signature window',
    sql: `
-- Message ids of signed host messages that act once (heartbeats and polls): a captured one replayed within
-- the five-minute signature window is refused. Kept a little longer than the window, then pruned.
create table host_messages (
  host_id text not null,
  message_id text not null,
  received_at timestamptz not null default now(),
  primary key (host_id, message_id)
);
create index host_messages_by_time on host_messages (received_at);
`,
  },
  {
    version: 6,
    name: 'staged rollouts: host labels and maintenance windows, waves, holds, dependencies, release age',
    sql: `
-- Hosts carry labels (waves select by them) and may have maintenance windows in their own time zone; a
-- label may have windows too (for the hosts that have none of their own).
alter table hosts add column labels text[] not null default '{}';
alter table hosts add column time_zone text;
alter table hosts add column windows jsonb;
create table label_schedules (
  label text primary key,
  time_zone text not null,
  windows jsonb not null,
  updated_at timestamptz not null default now()
);

-- What the package's manifest says it needs, and when GitHub published the release (its age).
alter table releases add column dependencies jsonb;
alter table releases add column published_at timestamptz;

-- A rollout runs its waves (null: all hosts at once) and can be paused, halted or aborted.
alter table rollouts add column strategy jsonb;
alter table rollouts add column state text not null default 'running' check (state in ('running', 'paused', 'halted', 'aborted', 'completed'));
alter table rollouts add column state_reason text;
alter table rollouts add column current_wave integer not null default 0;
alter table rollouts add column accepted_wave integer not null default -1;
alter table rollouts add column soak_until timestamptz;
alter table rollouts add column not_before timestamptz;
create index rollouts_running on rollouts (state) where state in ('running', 'paused', 'halted');

-- A pending job is held by the bot (hold says why) and goes to release_to (queued, or awaiting_approval for
-- hosts that approve) when nothing holds it any more.
alter table host_jobs add column wave integer not null default 0;
alter table host_jobs add column hold text;
alter table host_jobs add column release_to text;
-- Jobs waiting for a dependency, found by host when one of the host's jobs finishes.
create index host_jobs_waiting_on_host on host_jobs (host_id) where state = 'pending' and hold = 'dependency';
-- A new rollout supersedes the plugin's jobs that have not started: found without visiting every job.
create index host_jobs_not_started on host_jobs (plugin_id) where state in ('pending', 'awaiting_approval', 'queued');
`,
  },
  {
    version: 7,
    name: 'jobs whose report is overdue are asked about again; attempts counted; the strategy a release was resolved with; Conn2Flow versions; console sessions on the server',
    sql: `
-- A job the host took (delivered, in progress) whose report does not come is asked about again (the host
-- answers a repeat of the attempt with its report so far) no earlier than report_due_at, and fails once
-- the host has said nothing past the job's deadline.
alter table host_jobs add column report_due_at timestamptz;
create index host_jobs_awaiting_report on host_jobs (updated_at) where state in ('delivered', 'in_progress');
-- How many attempts the job has had (the first delivery, then each approval, retry or forced reinstall);
-- "attempts" stays the delivery tries of the current attempt.
alter table host_jobs add column attempt_number integer not null default 1;
-- The rollout strategy a release was resolved with (the repository's, or the bot's default): a release
-- resolved but not yet planned (planning failed, the bot stopped) is planned with it, never with a default.
alter table releases add column strategy jsonb;
-- The Conn2Flow versions a release's package is written for (its manifest's compatibility), and the version
-- each host's site runs (from its heartbeats): a host outside the range is blocked at planning.
alter table releases add column compatibility jsonb;
alter table hosts add column gestor_version text;
-- Console sessions and sign-in states live on the server, so a sign-out, a removed login or "sign out
-- everyone" ends a session at once, and an OAuth state works once.
create table console_sessions (
  id text primary key,
  login text not null,
  via_org boolean not null default false,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create table console_oauth_states (
  state_hash text primary key,
  expires_at timestamptz not null
);
`,
  },
  {
    version: 8,
    name: "who signed a release's package; the publishers each host checks",
    sql: `
-- A release's publisher as the bot found it before planning (status, signed-by key id, the signature and key
-- statement its jobs carry to hosts), and the publishers each host says it checks (from its heartbeats).
alter table releases add column publisher jsonb;
alter table hosts add column publishers jsonb;
`,
  },
  {
    version: 9,
    name: 'changes to rollouts and jobs are announced (NOTIFY c2f_changes) in the transaction that makes them',
    sql: `
-- Every statement that changes jobs or rollouts says which rollouts and hosts it touched ("r:<id>", "h:<id>",
-- or "h:*" when it touched many hosts), delivered when it commits: live pages and long polls wait on these
-- instead of asking the database every second. PostgreSQL folds identical notifications of one transaction.
create function c2f_announce_jobs() returns trigger language plpgsql as $fn$
declare
  touched record;
  hosts integer;
begin
  for touched in select distinct rollout_id from changed loop
    perform pg_notify('c2f_changes', 'r:' || touched.rollout_id);
  end loop;
  select count(distinct host_id) into hosts from changed;
  if hosts > 50 then
    perform pg_notify('c2f_changes', 'h:*');
  else
    for touched in select distinct host_id from changed loop
      perform pg_notify('c2f_changes', 'h:' || touched.host_id);
    end loop;
  end if;
  return null;
end
$fn$;
create trigger host_jobs_inserted after insert on host_jobs referencing new table as changed for each statement execute function c2f_announce_jobs();
create trigger host_jobs_updated after update on host_jobs referencing new table as changed for each statement execute function c2f_announce_jobs();
create function c2f_announce_rollouts() returns trigger language plpgsql as $fn$
declare
  touched record;
begin
  for touched in select id from changed loop
    perform pg_notify('c2f_changes', 'r:' || touched.id);
  end loop;
  return null;
end
$fn$;
create trigger rollouts_updated after update on rollouts referencing new table as changed for each statement execute function c2f_announce_rollouts();
`,
  },
  {
    version: 10,
    name: 'a new rollout, and a job finishing on a host, are announced too',
    sql: `
-- "f:<host>" (or "f:*" past 50 hosts) when jobs of a host reach a final state: jobs of other rollouts that wait
-- on that host for a dependency are looked at again. A rollout is announced when it is created, even with no jobs.
create or replace function c2f_announce_jobs() returns trigger language plpgsql as $fn$
declare
  touched record;
  hosts integer;
begin
  for touched in select distinct rollout_id from changed loop
    perform pg_notify('c2f_changes', 'r:' || touched.rollout_id);
  end loop;
  select count(distinct host_id) into hosts from changed;
  if hosts > 50 then
    perform pg_notify('c2f_changes', 'h:*');
  else
    for touched in select distinct host_id from changed loop
      perform pg_notify('c2f_changes', 'h:' || touched.host_id);
    end loop;
  end if;
  select count(distinct host_id) into hosts from changed
    where state in ('ok', 'failed', 'skipped', 'dead_lettered', 'cancelled', 'superseded', 'blocked');
  if hosts > 50 then
    perform pg_notify('c2f_changes', 'f:*');
  elsif hosts > 0 then
    for touched in select distinct host_id from changed
      where state in ('ok', 'failed', 'skipped', 'dead_lettered', 'cancelled', 'superseded', 'blocked') loop
      perform pg_notify('c2f_changes', 'f:' || touched.host_id);
    end loop;
  end if;
  return null;
end
$fn$;
create trigger rollouts_inserted after insert on rollouts referencing new table as changed for each statement execute function c2f_announce_rollouts();
`,
  },
  {
    version: 11,
    name: 'a release may be yanked; a wave may wait for approval; a rollout may be scheduled to start later',
    sql: `
-- The highest wave an operator approved to start (waves declared with "approval: required" wait for it).
alter table rollouts add column approved_wave integer not null default -1;
-- An operator's scheduled start: nothing of the rollout goes out before it.
alter table rollouts add column start_at timestamptz;
alter table releases add column yanked_at timestamptz;
alter table releases add column yanked_by text;
alter table releases add column yank_reason text;
`,
  },
  {
    version: 12,
    name: "outgoing notifications and their deliveries; a console session's role from its teams; until when a job is held",
    sql: `
-- The role an organisation member's teams gave at sign-in (null: the organisation's role).
alter table console_sessions add column team_role text;
-- Until when a held job waits for its window, release age, scheduled start or dependency (pages count down).
alter table host_jobs add column hold_until timestamptz;
-- A job's history is read by job (its page, a rollout's estimate).
create index job_history_by_job on job_history (job_id, at);

-- Endpoints told (signed the Standard Webhooks way) when a rollout halts or completes, a host fails or is
-- blocked, or a release is yanked; for one repository, or every one (repository null).
create table notification_targets (
  id text primary key,
  url text not null,
  secret_sealed text not null,
  repository text,
  kinds text[] not null,
  allow_private_network boolean not null default false,
  created_by text,
  created_at timestamptz not null default now()
);

-- One delivery per endpoint and event, made in the transaction that records the event (so none is lost),
-- sent and retried by whichever bot process takes it.
create table notification_deliveries (
  id bigserial primary key,
  target_id text not null references notification_targets(id) on delete cascade,
  event_id bigint not null,
  kind text not null,
  state text not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_status integer,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  unique (target_id, event_id)
);
create index notification_deliveries_due on notification_deliveries (next_attempt_at) where state = 'pending';
create index notification_deliveries_by_target on notification_deliveries (target_id, id);

create function c2f_notification_kind(kind text) returns text language sql immutable as $fn$
  select case
    when kind = 'rollout_halted' then 'halt'
    when kind in ('install_fail', 'update_fail', 'rollback_fail', 'uninstall_fail', 'health_fail',
                  'report_missing', 'job_dead_lettered', 'push_failed') then 'failure'
    when kind = 'job_blocked' then 'block'
    when kind = 'rollout_completed' then 'completion'
    when kind in ('release_yanked', 'release_unyanked') then 'yank'
  end
$fn$;

create function c2f_notify_event() returns trigger language plpgsql as $fn$
declare
  what text := c2f_notification_kind(new.kind);
begin
  if what is null then return null; end if;
  insert into notification_deliveries (target_id, event_id, kind)
    select t.id, new.id, what from notification_targets t
    where what = any(t.kinds) and (t.repository is null or t.repository = new.repository)
    on conflict do nothing;
  if found then perform pg_notify('c2f_changes', 'n:*'); end if;
  return null;
end
$fn$;
create trigger events_notify after insert on events for each row execute function c2f_notify_event();
`,
  },
  {
    version: 13,
    name: 'a statement that changes the jobs of up to 200 hosts names each host',
    sql: `
-- Deliveries claim and record a hundred jobs at a time: each of their hosts is still named ("h:<host>"), so
-- a long poll or a host's page wakes for its own host only; "h:*" (and "f:*") are for bigger statements.
create or replace function c2f_announce_jobs() returns trigger language plpgsql as $fn$
declare
  touched record;
  hosts integer;
begin
  for touched in select distinct rollout_id from changed loop
    perform pg_notify('c2f_changes', 'r:' || touched.rollout_id);
  end loop;
  select count(distinct host_id) into hosts from changed;
  if hosts > 200 then
    perform pg_notify('c2f_changes', 'h:*');
  else
    for touched in select distinct host_id from changed loop
      perform pg_notify('c2f_changes', 'h:' || touched.host_id);
    end loop;
  end if;
  select count(distinct host_id) into hosts from changed
    where state in ('ok', 'failed', 'skipped', 'dead_lettered', 'cancelled', 'superseded', 'blocked');
  if hosts > 200 then
    perform pg_notify('c2f_changes', 'f:*');
  elsif hosts > 0 then
    for touched in select distinct host_id from changed
      where state in ('ok', 'failed', 'skipped', 'dead_lettered', 'cancelled', 'superseded', 'blocked') loop
      perform pg_notify('c2f_changes', 'f:' || touched.host_id);
    end loop;
  end if;
  return null;
end
$fn$;
`,
  },
];
