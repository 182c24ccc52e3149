import type { InventoryEntry, Job } from '../../protocol/messages.ts';
import type { SitePlugin } from '../inventory.ts';

// What the agent needs from an installer: run one job's package, say what happened in Conn2Flow's terms,
// and confirm afterwards that the site really has it.

export interface InstallRequest {
  job: Job;
  /** The verified, inspected package. */
  zip: string;
  sha256: string;
  /** Told each installer process group it starts (the journal keeps it, so a restarted agent can wait for it). */
  onProcess?: (pgid: number) => void;
}

export interface InstallerResult {
  /** A PLG_EXIT_* code, or one of the agent's (40-49). */
  exitCode: number;
  message: string;
  logTail: string[];
  installedVersion: string | null;
  /** The installer got as far as changing the site (files, rows): a failure may have left it half-updated. */
  siteChanged?: boolean;
}

export interface SiteCheck {
  ok: boolean;
  reason: string;
}

export interface Installer {
  readonly name: string;
  install(request: InstallRequest): Promise<InstallerResult>;
  /** Removes the plugin's files (after keeping a copy in `backupFile`); says what stays behind. */
  uninstall(job: Job, backupFile: string, onProcess?: (pgid: number) => void): Promise<InstallerResult>;
  /** Does the site have this plugin at this version and package now? Undefined when it cannot tell. */
  check?(pluginId: string, version: string, sha256: string): Promise<SiteCheck>;
  /** What the site has, read from the site itself (files and the installer's own records). */
  siteInventory?(): Promise<SitePlugin[]>;
  /** After a failed job, makes the site's own records say so, and say what the site has (`site`). */
  markFailed?(pluginId: string, site: InventoryEntry): Promise<void>;
  /** The site's Conn2Flow version (`$_GESTOR['versao']`), or null when it cannot be read. */
  siteVersion?(): Promise<string | null>;
  /** Removes what the site's installer leaves behind and never prunes (old backup zips beyond `keep`, temporary copies); returns what went. */
  pruneLeftovers?(pluginId: string, keep: number): Promise<string[]>;
  /** Runs one of the plugin's post-install scripts (a path inside its folder) within a time limit. */
  runScript?(pluginId: string, script: string, timeoutSeconds: number): Promise<ScriptRun>;
}

export type ScriptRun = { ok: true; output: string[] } | { ok: false; problem: string; output: string[] };

export const LOG_TAIL_LINES = 50;

export function tail(text: string, lines = LOG_TAIL_LINES): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .slice(-lines)
    .map((line) => line.slice(0, 1000));
}
