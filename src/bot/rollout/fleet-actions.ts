import type { Database, Queryable } from '../store/database.ts';
import {
  createEnrollment,
  getHost,
  removeHost,
  updateHost,
  type HostChanges,
  type HostRecord,
  type NewHost,
} from '../store/hosts.ts';
import { knownProvenance, knownPublisherKeys } from '../store/known-publishers.ts';
import { ActionRefused } from './operator-actions.ts';

// What an operator does to the fleet itself (the admin API, the CLI through it, and the console): enroll a
// host, change its settings, remove it. Each is recorded in the event log with who did it, in the same
// transaction as the change where the store allows.

export interface EnrollDeps {
  db: Database;
  /** The bot's public URL, which the agent command names. */
  botUrl: string;
  publisherKeys?: Record<string, string[]>;
  provenanceWorkflows?: Record<string, string[]>;
}

export interface EnrollToken {
  host: HostRecord;
  token: string;
  expiresAt: string;
  /** The whole command to run on the host, with this bot's URL and what it should pin. */
  agentCommand: string;
}

export async function createEnrollToken(
  deps: EnrollDeps,
  host: Omit<NewHost, 'url'>,
  by: string,
): Promise<EnrollToken> {
  const created = await createEnrollment(deps.db, host);
  await recordHostEvent(deps.db, 'host_enrollment_created', created.host.id, { by, name: created.host.name });
  const pins = (await knownPublisherKeys(deps.db, created.host.plugins, deps.publisherKeys))
    .map(({ pluginId, key }) => ` --publisher ${pluginId}=${key}`)
    .join('');
  const builds = (await knownProvenance(deps.db, created.host.plugins, deps.provenanceWorkflows))
    .map(
      ({ pluginId, repository, workflow }) =>
        ` --provenance ${pluginId}=${repository}${workflow ? `:${workflow}` : ''}`,
    )
    .join('');
  const agentCommand = `c2f-agent enroll --bot ${deps.botUrl} --token ${created.token} --gestor <the site's gestor folder> [--url <where the bot reaches this agent>]${pins}${builds}`;
  return { host: created.host, token: created.token, expiresAt: created.expiresAt, agentCommand };
}

export async function changeHost(db: Database, id: string, changes: HostChanges, by: string): Promise<HostRecord> {
  return db.transaction(async (tx) => {
    const host = await updateHost(tx, id, changes);
    if (!host) throw new ActionRefused(`no host ${id}`, 404);
    await recordHostEvent(tx, 'host_changed', id, { by, changes });
    return host;
  });
}

export async function removeHostAs(db: Database, id: string, by: string): Promise<HostRecord> {
  return db.transaction(async (tx) => {
    const host = await getHost(tx, id);
    if (!host || !(await removeHost(tx, id))) throw new ActionRefused(`no host ${id}`, 404);
    await recordHostEvent(tx, 'host_removed', id, { by, name: host.name });
    return host;
  });
}

async function recordHostEvent(db: Queryable, kind: string, hostId: string, detail: Record<string, unknown>) {
  await db.query('insert into events (kind, host_id, detail) values ($1, $2, $3)', [
    kind,
    hostId,
    JSON.stringify(detail),
  ]);
}
