import type { Diagnostic } from './diagnostics.ts';
import { PhpMap, type PhpValue } from './php-value.ts';

// The columns Data.json rows reach in gestor 2.9.43 (MariaDB, STRICT_TRANS_TABLES). A value that does not
// fit makes the INSERT fail, which stops the plugin's whole data sync while the installer still reports
// success; so the packer refuses such rows before they reach a site.

type Column =
  | { kind: 'varchar' | 'char'; max: number; notNull?: boolean }
  | { kind: 'tinyint' | 'int' }
  | { kind: 'text'; maxBytes: number };

const varchar = (max: number, notNull = false): Column => ({ kind: 'varchar', max, notNull });
const char = (max: number): Column => ({ kind: 'char', max });
const tinyint: Column = { kind: 'tinyint' };
const int: Column = { kind: 'int' };
const TEXT: Column = { kind: 'text', maxBytes: 65535 };
const MEDIUMTEXT: Column = { kind: 'text', maxBytes: 16777215 };
const LONGTEXT: Column = { kind: 'text', maxBytes: 4294967295 };

const resource = (html: Column): Record<string, Column> => ({
  nome: varchar(255, true),
  id: varchar(255, true),
  plugin: varchar(255),
  language: varchar(10, true),
  modulo: varchar(255),
  html,
  css: MEDIUMTEXT,
  status: char(1),
  versao: int,
  framework_css: varchar(50),
  file_version: varchar(50),
  checksum: TEXT,
});

export const TABLE_COLUMNS: Record<string, Record<string, Column>> = {
  layouts: resource(LONGTEXT),
  componentes: resource(MEDIUMTEXT),
  paginas: {
    ...resource(MEDIUMTEXT),
    layout_id: varchar(255),
    caminho: TEXT,
    tipo: varchar(255),
    opcao: varchar(255),
    raiz: tinyint,
    sem_permissao: tinyint,
  },
  variaveis: {
    language: varchar(10),
    linguagem_codigo: varchar(10),
    modulo: varchar(255),
    id: varchar(255),
    plugin: varchar(255),
    valor: MEDIUMTEXT,
    tipo: varchar(100),
    grupo: varchar(255),
    descricao: varchar(255),
  },
  modulos: {
    modulo_grupo_id: varchar(255),
    nome: varchar(255),
    id: varchar(255),
    titulo: varchar(255),
    icone: varchar(100),
    icone2: varchar(100),
    nao_menu_principal: tinyint,
    plugin: varchar(255),
    host: tinyint,
    hooks: tinyint,
    status: char(1),
    versao: int,
    language: varchar(10),
  },
  usuarios_perfis_modulos: { perfil: varchar(255), modulo: varchar(255), plugin: varchar(255) },
};

export type RowLocator = (rowIndex: number, column?: string) => Pick<Diagnostic, 'file' | 'line' | 'column'>;

const INT_RANGE = { tinyint: [-128n, 127n], int: [-2147483648n, 2147483647n] } as const;

/** Checks rows of one table against its columns; returns one error per bad value. */
export function checkRows(
  table: string,
  dataFile: string,
  rows: readonly PhpValue[],
  locate: RowLocator,
): Diagnostic[] {
  const columns = TABLE_COLUMNS[table];
  if (!columns) return [];
  const diagnostics: Diagnostic[] = [];
  rows.forEach((row, index) => {
    if (!(row instanceof PhpMap)) {
      diagnostics.push({
        severity: 'error',
        code: 'data-row-type',
        message: `${dataFile} row ${index + 1} is not a JSON object`,
        ...locate(index),
      });
      return;
    }
    const label = `${dataFile} row ${index + 1}${describe(row)}`;
    for (const [name, column] of Object.entries(columns)) {
      const problem = columnProblem(column, row.get(name), row.has(name));
      if (problem)
        diagnostics.push({
          severity: 'error',
          code: 'data-column',
          message: `${label}: ${name} ${problem}`,
          ...locate(index, name),
        });
    }
  });
  return diagnostics;
}

function describe(row: PhpMap): string {
  const id = row.get('id');
  const language = row.get('language') ?? row.get('linguagem_codigo');
  if (typeof id !== 'string') return '';
  return ` (id "${id}"${typeof language === 'string' ? `, language "${language}"` : ''})`;
}

function columnProblem(column: Column, value: PhpValue | undefined, present: boolean): string | undefined {
  if (value === undefined || value === null) {
    return 'notNull' in column && column.notNull
      ? `is ${present ? 'null' : 'missing'}, but the column is NOT NULL: the INSERT fails and the plugin's data sync stops`
      : undefined;
  }
  if (column.kind === 'tinyint' || column.kind === 'int') {
    if (value === false)
      return "is false, which Conn2Flow sends as '' and MariaDB's strict mode rejects, stopping the plugin's data sync while the install reports success; use 0";
    if (value === true) return undefined;
    const numeric = typeof value === 'bigint' || typeof value === 'number' ? String(value) : undefined;
    const text = typeof value === 'string' ? value.trim() : numeric;
    if (text === undefined || !/^-?\d+$/.test(text))
      return `is ${JSON.stringify(typeof value === 'string' ? value : String(value))}, not an integer: MariaDB's strict mode rejects it; use a whole number`;
    const [min, max] = INT_RANGE[column.kind];
    if (BigInt(text) < min || BigInt(text) > max) return `is ${text}, out of range for ${column.kind} (${min}..${max})`;
    return undefined;
  }
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) return undefined;
  if (column.kind === 'text') {
    const bytes = Buffer.isBuffer(value) ? value.length : Buffer.byteLength(value);
    return bytes > column.maxBytes ? `is ${bytes} bytes, over the column's ${column.maxBytes}-byte limit` : undefined;
  }
  const { max } = column as { max: number };
  const length = Buffer.isBuffer(value) ? countCharacters(value) : [...value].length;
  return length > max
    ? `is ${length} characters long, over the column's ${column.kind}(${max}): MariaDB's strict mode rejects the row and the plugin's data sync stops`
    : undefined;
}

/** Characters in UTF-8 bytes: every byte that does not continue a sequence starts one. */
function countCharacters(bytes: Buffer): number {
  let count = 0;
  for (const byte of bytes) if ((byte & 0xc0) !== 0x80) count++;
  return count;
}
