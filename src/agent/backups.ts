import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256OfFile } from '../plugin/sha256-file.ts';
import { compareVersions } from '../versions.ts';

// Every package the agent installed, as backups/<plugin>/<version>.zip, so a rollback works even after the
// release is gone from GitHub (Conn2Flow's release script deletes older releases). The newest `keep`
// versions stay, and the installed one and the one before it (what a rollback returns to) always do.

export class Backups {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'backups');
  }

  pathFor(pluginId: string, version: string): string {
    return path.join(this.dir, pluginId, `${version}.zip`);
  }

  /** Keeps a package; `move` takes the file itself (a download the agent owns) instead of a copy. */
  async keep(pluginId: string, version: string, zip: string, options: { move?: boolean } = {}): Promise<void> {
    const target = this.pathFor(pluginId, version);
    await mkdir(path.dirname(target), { recursive: true });
    if (options.move) return await rename(zip, target);
    await copyFile(zip, `${target}.partial`);
    await rename(`${target}.partial`, target);
  }

  /** The kept package of this version when its SHA-256 is the expected one. */
  async find(pluginId: string, version: string, sha256: string): Promise<string | undefined> {
    const file = this.pathFor(pluginId, version);
    if (!(await stat(file).catch(() => undefined))?.isFile()) return undefined;
    return (await sha256OfFile(file)) === sha256 ? file : undefined;
  }

  async versions(pluginId: string): Promise<string[]> {
    const names = await readdir(path.join(this.dir, pluginId)).catch(() => [] as string[]);
    return names
      .filter((n) => /^\d+\.\d+\.\d+\.zip$/.test(n))
      .map((n) => n.slice(0, -4))
      .sort((a, b) => compareVersions(a, b) ?? 0);
  }

  /**
   * Removes all but the newest `keep` versions, never those in `needed` (the installed one, and the one a
   * rollback of the last job returns to), and all but the newest `keep` copies of uninstalled folders.
   */
  async prune(pluginId: string, keep: number, needed: ReadonlyArray<string | null>): Promise<string[]> {
    const versions = await this.versions(pluginId);
    const doomed = versions.slice(0, Math.max(versions.length - keep, 0)).filter((v) => !needed.includes(v));
    const uninstalled = (await readdir(path.join(this.dir, pluginId)).catch(() => [] as string[]))
      .filter((n) => /^uninstalled-\d{8}T\d{6}\.zip$/.test(n))
      .sort();
    const oldCopies = uninstalled.slice(0, Math.max(uninstalled.length - keep, 0));
    await Promise.all([
      ...doomed.map((v) => rm(this.pathFor(pluginId, v), { force: true })),
      ...oldCopies.map((name) => rm(path.join(this.dir, pluginId, name), { force: true })),
    ]);
    return [...doomed, ...oldCopies];
  }
}
