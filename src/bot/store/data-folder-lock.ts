import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from '../../process-alive.ts';

// PGlite does not stop a second process from opening the same data folder (and two would corrupt it), so
// the bot holds a lock file there: created exclusively, naming the owner's pid. A lock whose process is
// gone is stale and taken over.

export class DataFolderLockedError extends Error {}

export class DataFolderLock {
  private readonly file: string;

  private constructor(file: string) {
    this.file = file;
  }

  static async acquire(dataDir: string): Promise<DataFolderLock> {
    await mkdir(dataDir, { recursive: true });
    const file = path.join(dataDir, 'c2f-bot.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(file, 'wx');
        await handle.writeFile(`${process.pid}\n`);
        await handle.sync();
        await handle.close();
        return new DataFolderLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
        if (owner === process.pid)
          throw new DataFolderLockedError(`the data folder ${dataDir} is already open in this process`);
        if (owner && isProcessAlive(owner)) {
          throw new DataFolderLockedError(
            `the data folder ${dataDir} is in use by another bot process (pid ${owner}); PGlite allows one process per folder: stop it, or use PostgreSQL (DATABASE_URL) to run several bot processes`,
          );
        }
        await rm(file, { force: true }); // stale: its process is gone
      }
    }
    throw new DataFolderLockedError(`could not lock ${dataDir}`);
  }

  async release(): Promise<void> {
    await rm(this.file, { force: true });
  }
}
