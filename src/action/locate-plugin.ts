import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PluginTag } from '../plugin/release-tag.ts';

// Which folder holds the plugin: the `path` input; else, for a `plugin-<id>-v…` tag, the entry of
// environment.json `plugins[]` with that id (Conn2Flow's multi-plugin repository layout); else a
// manifest.json at the repository root; else environment.json's active or only plugin.

export class LocateError extends Error {}

interface EnvironmentPlugin {
  id: string;
  name?: string;
  path: string;
}

export async function locatePlugin(
  workspace: string,
  pathInput: string,
  environmentFile: string,
  tag: PluginTag | undefined,
): Promise<string> {
  if (pathInput) {
    const dir = path.resolve(workspace, pathInput);
    if (!(await isDir(dir))) throw new LocateError(`input "path": ${pathInput} is not a folder in the repository`);
    return dir;
  }
  const envPath = path.resolve(workspace, environmentFile);
  const environment = await readEnvironment(envPath);
  if (tag?.pluginId) {
    if (!environment) {
      if (await isFile(path.join(workspace, 'manifest.json'))) return workspace;
      throw new LocateError(
        `tag names plugin "${tag.pluginId}" but there is no ${environmentFile} to find its folder: set the "path" input`,
      );
    }
    const entry = environment.plugins.find((p) => p.id === tag.pluginId);
    if (!entry) {
      throw new LocateError(
        `${environmentFile} has no plugins[] entry with id "${tag.pluginId}" (it has: ${environment.plugins.map((p) => p.id).join(', ') || 'none'}); set the "path" input or fix the tag`,
      );
    }
    return resolveEntry(workspace, entry, environmentFile);
  }
  if (await isFile(path.join(workspace, 'manifest.json'))) return workspace;
  if (environment) {
    const active = environment.activePluginId
      ? environment.plugins.find((p) => p.id === environment.activePluginId)
      : undefined;
    const entry = active ?? (environment.plugins.length === 1 ? environment.plugins[0] : undefined);
    if (entry) return resolveEntry(workspace, entry, environmentFile);
    throw new LocateError(
      `${environmentFile} lists several plugins and the tag does not say which: tag releases plugin-<id>-v<version>, or set the "path" input`,
    );
  }
  throw new LocateError(
    'no plugin found: there is no manifest.json at the repository root and no environment.json; set the "path" input',
  );
}

async function resolveEntry(workspace: string, entry: EnvironmentPlugin, environmentFile: string): Promise<string> {
  const dir = path.resolve(workspace, entry.path.replace(/^[/\\]+/, ''));
  if (!dir.startsWith(path.resolve(workspace)))
    throw new LocateError(`${environmentFile}: the path of plugin "${entry.id}" leaves the repository`);
  if (!(await isDir(dir)))
    throw new LocateError(`${environmentFile}: the folder of plugin "${entry.id}" (${entry.path}) does not exist`);
  return dir;
}

async function readEnvironment(
  file: string,
): Promise<{ plugins: EnvironmentPlugin[]; activePluginId?: string } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let data: { plugins?: unknown; activePlugin?: { id?: unknown } };
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new LocateError(`${path.basename(file)} is not valid JSON: ${(error as Error).message}`);
  }
  const plugins = Array.isArray(data.plugins)
    ? data.plugins.filter((p): p is EnvironmentPlugin => typeof p?.id === 'string' && typeof p?.path === 'string')
    : [];
  return { plugins, activePluginId: typeof data.activePlugin?.id === 'string' ? data.activePlugin.id : undefined };
}

const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
const isFile = async (p: string) => (await stat(p).catch(() => undefined))?.isFile() ?? false;
