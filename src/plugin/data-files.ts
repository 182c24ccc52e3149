// The four Data.json files Conn2Flow's generator writes, and the tables they feed.
export const GENERATED_FILES = {
  layouts: 'LayoutsData.json',
  paginas: 'PaginasData.json',
  componentes: 'ComponentesData.json',
  variaveis: 'VariaveisData.json',
} as const;

export type GeneratedKind = keyof typeof GENERATED_FILES;
export const GENERATED_KINDS = Object.keys(GENERATED_FILES) as GeneratedKind[];
export const GENERATED_FILE_NAMES: ReadonlySet<string> = new Set(Object.values(GENERATED_FILES));

/** tabelaFromDataFile(): strip "Data.json"; lowercase if it holds "_", else CamelCase → snake_case. */
export function tableFromDataFile(fileName: string): string {
  const base = fileName.replace(/Data\.json$/, '');
  if (base.includes('_')) return base.toLowerCase();
  return base.replace(/(?<!^)[A-Z]/g, (ch) => `_${ch}`).toLowerCase();
}

export function isDataFileName(name: string): boolean {
  return /^.+Data\.json$/.test(name);
}
