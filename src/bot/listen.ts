import type { Server } from 'node:http';
import { BotConfigError } from './config.ts';

/** Listens, or says in one line why not (the caller releases what it holds). */
export async function listen(server: Server, port: number, host: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BotConfigError(
      code === 'EADDRINUSE'
        ? `port ${port} on ${host} is in use: stop what holds it, or set PORT`
        : `cannot listen on ${host}:${port}: ${(error as Error).message}`,
    );
  }
}
