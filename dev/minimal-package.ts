import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Dependency } from '../src/protocol/messages.ts';
import { writeZip } from '../src/plugin/zip-writer.ts';

// The smallest real gestor-plugin.zip for a plugin id and version (a manifest, a module folder, optional
// dependencies and padding): what tests, the demo and the benchmarks attach to stand-in releases when the
// package's content does not matter, only that the bot can read its manifest.

export async function minimalPackage(
  pluginId: string,
  version: string,
  options: { dependencies?: Dependency[]; padding?: number } = {},
): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'c2f-minimal-package-'));
  try {
    const file = path.join(dir, 'gestor-plugin.zip');
    const manifest = {
      id: pluginId,
      name: pluginId,
      version,
      ...(options.dependencies?.length ? { dependencies: options.dependencies } : {}),
    };
    await writeZip(file, [
      { name: 'manifest.json', source: Buffer.from(JSON.stringify(manifest, null, 4)) },
      { name: 'modules/' },
      { name: 'README.txt', source: Buffer.from(`${pluginId} ${version}\n${'.'.repeat(options.padding ?? 200)}\n`) },
    ]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
