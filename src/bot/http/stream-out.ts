import type { ServerResponse } from 'node:http';

// A download written as it is read (the event log as JSON lines or CSV): it waits while the client reads
// slower than the database answers, and stops as soon as the client goes or the source fails, instead of
// waiting for a 'drain' that never comes or leaving the response open.

export async function streamOut<T>(
  res: ServerResponse,
  headers: Record<string, string>,
  items: AsyncIterable<T>,
  line: (item: T) => string,
  first = '',
): Promise<void> {
  res.writeHead(200, headers);
  let gone = res.destroyed;
  const onClose = () => (gone = true);
  res.once('close', onClose);
  try {
    if (first) res.write(first);
    for await (const item of items) {
      if (gone) return;
      if (!res.write(line(item))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      }
    }
    res.end();
  } catch (error) {
    res.destroy(); // the headers are out: a cut connection is the only way to say the download is not whole
    throw error;
  } finally {
    res.off('close', onClose);
  }
}
