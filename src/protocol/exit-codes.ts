// Conn2Flow's installer exit codes (gestor/bibliotecas/plugins-consts.php), unchanged, plus the ones its docs
// reserve (30-32). Codes the agent adds for outcomes Conn2Flow cannot express take 40-49; the CLI's own
// process exit codes are 64, 69, 70, 75 and 78. None of them reuses a Conn2Flow number.
export const PLG_EXIT = {
  OK: 0,
  PARAMS_OR_FILE: 10,
  VALIDATE: 11,
  MOVE: 12,
  DOWNLOAD: 20,
  ZIP_INVALID: 21,
  CHECKSUM: 22,
  DEPENDENCY: 30,
  INCOMPATIBLE: 31,
  ALREADY_INSTALLED: 32,
} as const;

/** Job results the host agent adds (reported in `exitCode`). */
export const AGENT_EXIT = {
  /** The installer could not be started (php missing, script not found). */
  INSTALLER_NOT_RUN: 40,
  /** The installer died without a result (PHP fatal error, no JSON). */
  INSTALLER_CRASHED: 41,
  /** The installer ran past its time limit and was stopped. */
  INSTALLER_TIMEOUT: 42,
  /** The installer reported success but the result could not be confirmed (files, plugins row, checksum). */
  VERIFY_FAILED: 43,
  /** The agent restarted while the job was running; it is not run again by itself. */
  INTERRUPTED: 44,
  /** The job arrived after its deadline. */
  DEADLINE_PASSED: 45,
  /** The site failed its health check after the install (the previous version was put back when it could be). */
  HEALTH_CHECK_FAILED: 46,
  /** A migration of the package did not run (Conn2Flow logs the failure and says ok); what it left is reported. */
  MIGRATION_FAILED: 47,
  /** A post-install script of the package failed or ran past its time limit. */
  POST_INSTALL_FAILED: 48,
  /** The package's publisher could not be verified (no signature, a key not trusted, other bytes, another plugin or version). */
  PUBLISHER_UNVERIFIED: 49,
} as const;

export const OUR_EXIT = {
  /** Wrong command-line usage of our own tools. */
  USAGE: 64,
  /** A service the command needs cannot be reached (the bot, for the admin commands). */
  UNAVAILABLE: 69,
  /** An unexpected failure inside our own code (a bug: please report it). */
  INTERNAL: 70,
  /** A temporary condition outside our code (a full disk): try again once it is fixed. */
  TEMPFAIL: 75,
  /** The configuration is wrong or incomplete (environment, data folder in use). */
  CONFIG: 78,
} as const;

const LABELS = new Map<number, string>([
  ...Object.entries(PLG_EXIT).map(([name, code]) => [code, name] as [number, string]),
  ...Object.entries(AGENT_EXIT).map(([name, code]) => [code, name] as [number, string]),
  ...Object.entries(OUR_EXIT).map(([name, code]) => [code, name] as [number, string]),
]);

/** `plg_exit_code_label()`: the constant's name without its prefix, or UNKNOWN. */
export function label(code: number): string {
  return LABELS.get(code) ?? 'UNKNOWN';
}
