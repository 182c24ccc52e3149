// Every input of action.yml, read once into one typed object; nothing below index.ts reads the environment.
import { byteSize } from '../byte-size.ts';

export interface ActionInputs {
  /** Plugin folder, relative to the workspace; empty to detect it from the tag and environment.json. */
  path: string;
  environmentFile: string;
  /** The release tag; empty when the event has none. */
  tag: string;
  checkVersion: boolean;
  /** `previous-release`, `plugin` (the plugin's own db/data), `none`, or a path to a zip or folder. */
  baseline: string;
  upload: boolean;
  overwrite: boolean;
  createRelease: boolean;
  draft: boolean;
  prerelease: boolean;
  maxFileSize?: number;
  maxTotalSize?: number;
  allow: string[];
  token: string;
  outDir: string;
  /** The publisher's secret key (minisign format, the file's text): the package is signed when set. */
  signingKey: string;
  signingPassword: string;
  /** A publisher key statement (gestor-plugin.keys, with its .minisig beside it) to attach, relative to the workspace. */
  keyStatement: string;
  /** Build provenance: `auto` attests when the job may request an ID token (`id-token: write`). */
  provenance: boolean | 'auto';
  /** A Sigstore instance to sign with instead of the default (public-good for public repositories). */
  fulcioUrl: string;
  rekorUrl: string;
}

export class InputError extends Error {}

type GetInput = (name: string) => string;

export function parseBoolean(name: string, value: string, fallback: boolean): boolean {
  const v = value.trim().toLowerCase();
  if (v === '') return fallback;
  if (['true', 'yes', 'on', '1'].includes(v)) return true;
  if (['false', 'no', 'off', '0'].includes(v)) return false;
  throw new InputError(`input "${name}" must be true or false, not "${value}"`);
}

export function parseSizeInput(name: string, value: string): number | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  const bytes = byteSize(v);
  if (bytes === undefined) throw new InputError(`input "${name}" takes a size like 50M or 1048576, not "${value}"`);
  return bytes;
}

/** Reads the inputs; `tagFromEvent` is the tag the triggering event names, if any. */
export function readInputs(getInput: GetInput, tagFromEvent: string, tempDir: string): ActionInputs {
  const bool = (name: string, fallback: boolean) => parseBoolean(name, getInput(name), fallback);
  const fulcioUrl = urlInput('sigstore-fulcio-url', getInput('sigstore-fulcio-url'));
  const rekorUrl = urlInput('sigstore-rekor-url', getInput('sigstore-rekor-url'));
  // A log of one's own beside the default CA would log certificates no verifier of that log trusts.
  if (rekorUrl && !fulcioUrl)
    throw new InputError(
      'input "sigstore-rekor-url" goes with "sigstore-fulcio-url": set both for a Sigstore of your own',
    );
  return {
    path: getInput('path').trim(),
    environmentFile: getInput('environment-file').trim() || 'environment.json',
    tag: getInput('tag').trim() || tagFromEvent,
    checkVersion: bool('check-version', true),
    baseline: getInput('baseline').trim() || 'previous-release',
    upload: bool('upload', true),
    overwrite: bool('overwrite', true),
    createRelease: bool('create-release', true),
    draft: bool('draft', false),
    prerelease: bool('prerelease', false),
    maxFileSize: parseSizeInput('max-file-size', getInput('max-file-size')),
    maxTotalSize: parseSizeInput('max-total-size', getInput('max-total-size')),
    allow: getInput('allow')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
    token: getInput('token').trim(),
    outDir: getInput('out-dir').trim() || tempDir,
    signingKey: getInput('signing-key').trim(),
    signingPassword: getInput('signing-password'),
    keyStatement: getInput('key-statement').trim(),
    provenance: provenanceInput(getInput('provenance')),
    fulcioUrl,
    rekorUrl,
  };
}

function provenanceInput(value: string): boolean | 'auto' {
  if (['', 'auto'].includes(value.trim().toLowerCase())) return 'auto';
  try {
    return parseBoolean('provenance', value, false);
  } catch {
    throw new InputError(`input "provenance" must be auto, true or false, not "${value}"`);
  }
}

function urlInput(name: string, value: string): string {
  const v = value.trim();
  if (!v) return '';
  try {
    const url = new URL(v);
    if (url.protocol === 'https:' || url.protocol === 'http:') return v.replace(/\/$/, '');
  } catch {}
  throw new InputError(`input "${name}" must be an http(s) URL, not "${value}"`);
}
