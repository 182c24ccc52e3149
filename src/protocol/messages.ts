// The bot ↔ host messages as TypeScript types. The JSON Schemas in schemas/ are the contract (a PHP host
// can implement it from them and docs/protocol.md); these types mirror them.
import type { Compatibility } from './compatibility.ts';
import type { HostStatus } from './statuses.ts';

export const PROTOCOL_VERSION = 1;

export type JobAction = 'install' | 'update' | 'rollback' | 'uninstall' | 'notify';

/** What a site has of one plugin (heartbeats list every plugin; a final report carries the job's). */
export interface InventoryEntry {
  pluginId: string;
  /** The version the plugin's files hold; null when the files are missing. */
  version: string | null;
  /** The package those files came from, when the agent can tell. */
  sha256: string | null;
  /** Set when Conn2Flow's plugins row or the agent's journal disagrees with the files. */
  problem?: string | null;
}

export interface Job {
  type: 'job';
  protocol: 1;
  jobId: string;
  /** One attempt to deliver the job (and the message id of its pushes). */
  attemptId: string;
  rolloutId: string;
  hostId: string;
  action: JobAction;
  plugin: { id: string; name: string; version: string; previousVersion: string | null };
  source: { repository: string; tag: string; releaseId: number };
  package: {
    fileName: 'gestor-plugin.zip';
    size: number;
    sha256: string;
    url: string;
    urlExpiresAt: string | null;
    /** The publisher's signature (the release's gestor-plugin.zip.minisig); a pinning host checks it itself. */
    signature?: string;
    /** The key the bot verified the signature with; only a trust-on-first-use host pins it, after checking. */
    publisherKey?: string;
    /** The build provenance (the release's gestor-plugin.zip.sigstore.json); a host that requires it checks it. */
    provenance?: string;
  };
  /** The publisher's statement adding or retiring signing keys, published with the release. */
  keyStatement?: { statement: string; signature: string };
  options: { force: boolean; skipMigrations: boolean };
  /** Plugins this one needs on the site (from its manifest); absent: none. */
  dependencies?: Dependency[];
  /** The Conn2Flow versions the plugin is written for (from its manifest); absent: any. */
  compatibility?: Compatibility;
  reportUrl: string;
  deadline: string;
  createdAt: string;
}

/** A plugin another one needs, at a version within [min, max] (inclusive; a missing bound is open). */
export interface Dependency {
  id: string;
  min?: string;
  max?: string;
}

export interface Report {
  type: 'report';
  protocol: 1;
  jobId: string;
  attemptId: string;
  hostId: string;
  status: HostStatus;
  exitCode: number | null;
  exitLabel: string | null;
  message: string;
  logTail: string[];
  installedVersion: string | null;
  inventory?: InventoryEntry | null;
  timings: {
    receivedAt: string;
    startedAt?: string;
    finishedAt?: string;
    downloadMs?: number;
    installMs?: number;
    verifyMs?: number;
  };
  sentAt: string;
}

export interface Heartbeat {
  type: 'heartbeat';
  protocol: 1;
  hostId: string;
  agentVersion: string;
  inventory: InventoryEntry[];
  /** The site's Conn2Flow version, when the agent can read it. */
  gestorVersion?: string | null;
  /** The plugins whose publisher the host checks: the key ids it trusts for each ("*": every other plugin). */
  publishers?: Record<string, PublisherSummary>;
  pollSeconds: number;
  sentAt: string;
}

export interface EnrollmentRequest {
  type: 'enroll';
  protocol: 1;
  token: string;
  agentVersion: string;
  url: string | null;
}

export interface Ack {
  status: 'accepted' | 'known' | 'refused';
  jobId: string;
  report?: Report | null;
  reason?: string;
}

/** What a host checks for one plugin's publisher, as its heartbeats say. */
export interface PublisherSummary {
  keyIds: string[];
  trustOnFirstUse: boolean;
  provenance?: { repository: string; workflow?: string; tagPattern?: string };
}
