import { open, rename, rm } from 'node:fs/promises';

/** Writes a file only its owner may read (credentials), whole or not at all: a crash leaves the old one. */
export async function writePrivateFile(file: string, content: string): Promise<void> {
  const partial = `${file}.partial`;
  const handle = await open(partial, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(partial, { force: true });
    throw error;
  }
  await handle.close();
  await rename(partial, file);
}
