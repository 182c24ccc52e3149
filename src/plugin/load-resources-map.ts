import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostic } from './diagnostics.ts';
import { MapError, interpretMap, parseJsonMap, parsePhpMap, type ResourcesMap } from './resources-map.ts';

/** Finds and reads resources/resources.map.php (or .json); undefined when the plugin has neither. */
export async function loadResourcesMap(root: string, diagnostics: Diagnostic[]): Promise<ResourcesMap | undefined> {
  const phpFile = 'resources/resources.map.php';
  const jsonFile = 'resources/resources.map.json';
  const php = await readFile(path.join(root, phpFile), 'utf8').catch(() => undefined);
  const json = await readFile(path.join(root, jsonFile), 'utf8').catch(() => undefined);
  if (php === undefined && json === undefined) {
    diagnostics.push({
      severity: 'warning',
      code: 'resources-map-missing',
      message: 'no resources/resources.map.php: no Data.json is generated, and db/data ships as it is',
      file: phpFile,
    });
    return undefined;
  }
  if (php !== undefined && json !== undefined) {
    diagnostics.push({
      severity: 'warning',
      code: 'resources-map-both',
      message: 'both resources.map.php and resources.map.json exist: the .php one is used, as Conn2Flow does',
      file: jsonFile,
    });
  }
  const file = php !== undefined ? phpFile : jsonFile;
  try {
    const value = php !== undefined ? parsePhpMap(php, file) : parseJsonMap(json!, file);
    return interpretMap(value, file, diagnostics);
  } catch (error) {
    if (!(error instanceof MapError)) throw error;
    diagnostics.push(error.diagnostic);
    return undefined;
  }
}
