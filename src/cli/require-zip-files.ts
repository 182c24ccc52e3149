import { stat } from 'node:fs/promises';
import { PluginError } from '../plugin/diagnostics.ts';

/** The zips a command was given exist and are files: otherwise one diagnostic naming the path, exit 10. */
export async function requireZipFiles(files: readonly string[]): Promise<void> {
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    if (!info) throw new PluginError([{ severity: 'error', code: 'zip-missing', message: 'no such file', file }], 10);
    if (!info.isFile())
      throw new PluginError([{ severity: 'error', code: 'zip-not-file', message: 'is a folder, not a zip', file }], 10);
  }
}
