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

/** The keys Conn2Flow's generator writes for each generated file, in order (module rows add `modulo`). */
export const GENERATED_ROW_KEYS: Record<GeneratedKind, { global: readonly string[]; module: readonly string[] }> = {
  layouts: {
    global: ['nome', 'id', 'language', 'html', 'css', 'framework_css', 'status', 'versao', 'file_version', 'checksum'],
    module: [
      'nome',
      'id',
      'language',
      'modulo',
      'html',
      'css',
      'framework_css',
      'status',
      'versao',
      'file_version',
      'checksum',
    ],
  },
  componentes: {
    global: [
      'nome',
      'id',
      'language',
      'modulo',
      'html',
      'css',
      'framework_css',
      'status',
      'versao',
      'file_version',
      'checksum',
    ],
    module: [
      'nome',
      'id',
      'language',
      'modulo',
      'html',
      'css',
      'framework_css',
      'status',
      'versao',
      'file_version',
      'checksum',
    ],
  },
  paginas: {
    global: [
      'layout_id',
      'nome',
      'id',
      'language',
      'caminho',
      'tipo',
      'modulo',
      'opcao',
      'raiz',
      'sem_permissao',
      'html',
      'css',
      'framework_css',
      'status',
      'versao',
      'file_version',
      'checksum',
    ],
    module: [
      'layout_id',
      'nome',
      'id',
      'language',
      'caminho',
      'tipo',
      'modulo',
      'opcao',
      'raiz',
      'sem_permissao',
      'html',
      'css',
      'framework_css',
      'status',
      'versao',
      'file_version',
      'checksum',
    ],
  },
  variaveis: {
    global: ['linguagem_codigo', 'modulo', 'id', 'valor', 'tipo', 'grupo', 'descricao'],
    module: ['linguagem_codigo', 'modulo', 'id', 'valor', 'tipo', 'grupo', 'descricao'],
  },
};
