import type { ErrorObject } from 'ajv';
import schema from './schemas/manifest.schema.json' with { type: 'json' };
import { validate as validateSchema } from './schemas/manifest.validator.js';
import type { Diagnostic } from './diagnostics.ts';
import { compareVersions } from '../versions.ts';
import { JsonSyntaxError, parseJsonSource, type JsonSource } from './json-source.ts';

export interface Manifest {
  id: string;
  name: string;
  version: string;
  description?: string;
  compatibility?: { min?: string; max?: string };
  author?: string;
  license?: string;
  resources?: { layouts?: boolean; pages?: boolean; components?: boolean; variables?: boolean };
  post_install_scripts?: string[];
  checksum_override?: string | null;
  dependencies?: Array<{ id: string; min?: string; max?: string }>;
}

export interface ManifestResult {
  manifest?: Manifest;
  diagnostics: Diagnostic[];
}

const KNOWN_KEYS = new Set(Object.keys(schema.properties));

const FRIENDLY: Record<string, string> = {
  '/id:pattern':
    'invalid plugin id: use lowercase letters, digits, "_" and "-", starting with a letter or digit (the installer rejects anything else)',
  '/version:pattern': 'invalid version: use x.y.z (the installer rejects anything else, pre-release suffixes included)',
};

/** Validates manifest.json text the way Conn2Flow's installer does, plus type checks and warnings for known traps. */
export function checkManifest(text: string, file = 'manifest.json'): ManifestResult {
  let source: JsonSource;
  try {
    source = parseJsonSource(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return {
      diagnostics: [
        {
          severity: 'error',
          code: 'manifest-json',
          message: error.message,
          file,
          line: error.line,
          column: error.column,
        },
      ],
    };
  }
  const diagnostics: Diagnostic[] = [];
  const at = (pointer: string, kind: 'value' | 'key' = 'value') => ({ file, ...source.locate(pointer, kind) });
  const value = source.json;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      diagnostics: [
        { severity: 'error', code: 'manifest-type', message: 'manifest.json must hold a JSON object', ...at('') },
      ],
    };
  }
  const record = value as Record<string, unknown>;

  if (!validateSchema(value)) {
    for (const error of validateSchema.errors ?? []) diagnostics.push(schemaDiagnostic(error, record, at));
  }
  for (const [key, renamed] of [
    ['nome', 'name'],
    ['versao', 'version'],
  ] as const) {
    if (key in record) {
      diagnostics.push({
        severity: 'warning',
        code: 'manifest-portuguese-key',
        message: `"${key}" is not read by the installer: rename it to "${renamed}" (several Conn2Flow docs use "${key}", but the installer requires "${renamed}")`,
        ...at(`/${key}`, 'key'),
      });
    }
  }
  if ('dependencias' in record) {
    diagnostics.push({
      severity: 'warning',
      code: 'manifest-portuguese-key',
      message: 'rename "dependencias" to "dependencies"',
      ...at('/dependencias', 'key'),
    });
  }
  for (const key of Object.keys(record)) {
    if (!KNOWN_KEYS.has(key) && key !== 'nome' && key !== 'versao') {
      diagnostics.push({
        severity: 'warning',
        code: 'manifest-unknown-key',
        message: `unknown key "${key}": Conn2Flow ignores it (it is only stored in plugins.manifest_json)`,
        ...at(`/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, 'key'),
      });
    }
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  const manifest = { ...record } as unknown as Manifest & { dependencias?: Manifest['dependencies'] };
  if (!manifest.dependencies && manifest.dependencias) manifest.dependencies = manifest.dependencias;
  const key = 'dependencies' in record ? 'dependencies' : 'dependencias';
  diagnostics.push(...dependencyDiagnostics(manifest, (pointer) => at(`/${key}${pointer}`)));
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  return { manifest, diagnostics };
}

const VERSION = /^\d+\.\d+\.\d+$/;

/** What the bot and the agent need of `dependencies`: real versions, a range that is not empty, no self-dependency, each plugin once. */
function dependencyDiagnostics(
  manifest: Manifest,
  at: (pointer: string) => Pick<Diagnostic, 'file' | 'line' | 'column'>,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  (manifest.dependencies ?? []).forEach((dependency, i) => {
    const error = (pointer: string, message: string) =>
      diagnostics.push({ severity: 'error', code: 'manifest-dependencies', message, ...at(`/${i}${pointer}`) });
    if (dependency.id === manifest.id)
      error('/id', `"${dependency.id}" is this plugin: a plugin cannot depend on itself`);
    if (seen.has(dependency.id)) error('/id', `"${dependency.id}" is listed twice: give it one range`);
    seen.add(dependency.id);
    for (const bound of ['min', 'max'] as const) {
      const value = dependency[bound];
      if (value !== undefined && !VERSION.test(value))
        error(`/${bound}`, `${bound} of "${dependency.id}" must be a version x.y.z (found "${value}")`);
    }
    if (
      dependency.min &&
      dependency.max &&
      VERSION.test(dependency.min) &&
      VERSION.test(dependency.max) &&
      (compareVersions(dependency.min, dependency.max) ?? 0) > 0
    ) {
      error('/max', `the range of "${dependency.id}" is empty: min ${dependency.min} is above max ${dependency.max}`);
    }
  });
  return diagnostics;
}

/** Fields Conn2Flow's older manifests named in Portuguese: the installer reads only the English names. */
const PORTUGUESE_NAMES: Record<string, string> = { name: 'nome', version: 'versao' };

function schemaDiagnostic(
  error: ErrorObject,
  record: Record<string, unknown>,
  at: (p: string, k?: 'value' | 'key') => Pick<Diagnostic, 'file' | 'line' | 'column'>,
): Diagnostic {
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    const portuguese = PORTUGUESE_NAMES[missing];
    const hint = portuguese && portuguese in record ? ` ("${portuguese}" is not read: rename it to "${missing}")` : '';
    const parent = error.instancePath.slice(1);
    const code = parent ? `manifest-${parent.split('/')[0]}` : `manifest-${missing}`;
    return {
      severity: 'error',
      code,
      message: `${parent ? `${parent}: ` : ''}missing required field "${missing}"${hint}`,
      ...at(error.instancePath),
    };
  }
  const pointer = error.instancePath;
  const field = pointer.split('/')[1] || 'manifest';
  const friendly = FRIENDLY[`${pointer}:${error.keyword}`];
  let message = friendly;
  if (!message && error.keyword === 'not') message = `"${field}" cannot be "0": the installer treats it as missing`;
  if (!message && error.keyword === 'minLength')
    message = `"${field}" cannot be empty: the installer treats it as missing`;
  if (!message && error.keyword === 'additionalProperties') {
    message = `unknown key "${(error.params as { additionalProperty: string }).additionalProperty}" in ${pointer.slice(1) || 'manifest'}`;
  }
  message ??= `${pointer.slice(1) || 'manifest'} ${error.message}`;
  if (friendly && typeof (record as Record<string, unknown>)[field] === 'string')
    message += ` (found "${record[field]}")`;
  return { severity: 'error', code: `manifest-${field}`, message, ...at(pointer) };
}
