import v8 from 'node:v8';
import { isPluginId, pluginIdProblem } from '../../plugin/plugin-id.ts';
import { parsePluginTag } from '../../plugin/release-tag.ts';

// Which plugin and version a release tag names: Conn2Flow's `plugin-<id>-v<version>` by default, or a
// repository's own pattern from .github/conn2flow-release.yml (`tag-pattern`, a regular expression with
// named groups `id` and `version`; a single-plugin repository may instead name its `plugin-id`).
//
// A repository's pattern runs in V8's linear-time engine (the `l` flag): a pattern that would need
// backtracking (backreferences, lookahead) is refused rather than run, so no repository can stall the bot with
// a pattern whose matching time doubles with each character. The id and version it yields obey the same rules
// as a manifest's.

// The linear engine is behind a V8 flag; it only adds the `l` flag to regular expressions.
v8.setFlagsFromString('--enable-experimental-regexp-engine');

export interface RepositoryReleaseConfig {
  'tag-pattern'?: string;
  'plugin-id'?: string;
  /** The rollout strategy (waves, onHalt, minReleaseAge): parseStrategy reads it. */
  rollout?: unknown;
  /** Public keys (minisign base64 lines) the releases must be signed with, unless C2F_PUBLISHER_KEYS names the repository. */
  'publisher-keys'?: unknown;
  /** Workflow files one of which must have built (attested) the releases, unless C2F_PROVENANCE_WORKFLOWS names the repository. */
  'provenance-workflows'?: unknown;
}

export type TagMeaning =
  | { kind: 'named'; pluginId: string; version: string }
  | { kind: 'unnamed'; reason: string }
  | { kind: 'invalid'; reason: string };

export const MAX_TAG_PATTERN_LENGTH = 500;
const MAX_TAG_LENGTH = 255;
const compiled = new Map<string, RegExp | string>();

/** The pattern in the linear-time engine, or why it cannot be used. */
export function linearPattern(pattern: string): RegExp | string {
  let known = compiled.get(pattern);
  if (known === undefined) {
    if (pattern.length > MAX_TAG_PATTERN_LENGTH) known = `it is longer than ${MAX_TAG_PATTERN_LENGTH} characters`;
    else {
      try {
        known = new RegExp(pattern, 'l');
      } catch (error) {
        known = /linear time/.test((error as Error).message)
          ? 'it needs backtracking (a backreference or lookahead), which the bot does not run: rewrite it without'
          : `it is not a regular expression (${(error as Error).message})`;
      }
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, known);
  }
  return known;
}

export function pluginFromTag(tag: string, config: RepositoryReleaseConfig = {}): TagMeaning {
  if (tag.length > MAX_TAG_LENGTH)
    return {
      kind: 'unnamed',
      reason: `tag ${JSON.stringify(tag.slice(0, 40))}… is longer than ${MAX_TAG_LENGTH} characters`,
    };
  let id: string | undefined;
  let version: string | undefined;
  if (config['tag-pattern']) {
    const pattern = linearPattern(String(config['tag-pattern']));
    if (typeof pattern === 'string')
      return { kind: 'invalid', reason: `tag-pattern in .github/conn2flow-release.yml cannot be used: ${pattern}` };
    const match = pattern.exec(tag);
    id = match?.groups?.id ?? config['plugin-id'];
    version = match?.groups?.version;
    if (!match)
      return { kind: 'unnamed', reason: `tag ${tag} does not match tag-pattern in .github/conn2flow-release.yml` };
  } else {
    const parsed = parsePluginTag(tag);
    if (!parsed)
      return {
        kind: 'unnamed',
        reason: `tag ${tag} names no plugin (expected plugin-<id>-v<x.y.z>, or set tag-pattern in .github/conn2flow-release.yml)`,
      };
    id = parsed.pluginId ?? config['plugin-id'];
    version = parsed.version;
  }
  if (!id || !version)
    return {
      kind: 'unnamed',
      reason: `tag ${tag} names no plugin id (a single-plugin repository sets plugin-id in .github/conn2flow-release.yml)`,
    };
  if (!isPluginId(id)) return { kind: 'invalid', reason: `tag ${tag} names plugin ${pluginIdProblem(id)}` };
  if (!/^\d+\.\d+\.\d+$/.test(version))
    return {
      kind: 'invalid',
      reason: `tag ${tag} names version ${JSON.stringify(version)}: Conn2Flow installs x.y.z versions only`,
    };
  return { kind: 'named', pluginId: id, version };
}
