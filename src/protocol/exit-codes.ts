// Conn2Flow's installer exit codes (gestor/bibliotecas/plugins-consts.php), unchanged, plus the ones its docs
// reserve. Codes this project adds live in 60-79 so they can never collide with a Conn2Flow number.
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

export const OUR_EXIT = {
  /** Wrong command-line usage of our own tools. */
  USAGE: 64,
  /** An unexpected failure inside our own code (a bug: please report it). */
  INTERNAL: 70,
} as const;

const LABELS = new Map<number, string>([
  ...Object.entries(PLG_EXIT).map(([name, code]) => [code, name] as [number, string]),
  ...Object.entries(OUR_EXIT).map(([name, code]) => [code, name] as [number, string]),
]);

/** `plg_exit_code_label()`: the constant's name without its prefix, or UNKNOWN. */
export function label(code: number): string {
  return LABELS.get(code) ?? 'UNKNOWN';
}
