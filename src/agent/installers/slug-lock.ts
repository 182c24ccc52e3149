import { open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isProcessAlive } from '../../process-alive.ts';

// Conn2Flow's installer works through fixed temporary names, /tmp/plg_<slug>.zip and /tmp/plg_<slug>.zip.sha256,
// with no locking: two installs of the same plugin at once on one machine (two sites, two agents) overwrite each
// other's files and fail with "Checksum inválido", or install the other's package. Every agent on the machine
// therefore takes this lock, beside those files, for the length of one install of that plugin. A lock whose
// holder died is taken over.

export class SlugLockTimeout extends Error {}

export async function withSlugLock<T>(slug: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const file = path.join(tmpdir(), `plg_${slug}.c2f-lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o644);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(file, 'utf8').catch(() => ''));
      // An unreadable or empty file is a holder that died between creating and writing it: take it over.
      if (!holder || !isProcessAlive(holder)) {
        // Look again right before removing it: another waiter may have taken it over meanwhile.
        if (Number(await readFile(file, 'utf8').catch(() => '')) === holder) await rm(file, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new SlugLockTimeout(
          `another install of ${slug} on this machine (pid ${holder}) held ${file} for more than ${Math.round(timeoutMs / 1000)} s`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await work();
  } finally {
    await rm(file, { force: true });
  }
}
