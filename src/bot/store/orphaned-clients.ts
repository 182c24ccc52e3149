import pg from 'pg';

// A PostgreSQL client that its owner has let go of, but that is still connected, ends the process when the
// server then terminates its connection (a restart, an administrator's terminate): node-postgres emits the
// server's FATAL as an 'error' event, and an 'error' event with no listener throws. The queue's LISTEN
// connection makes such clients: when it gives up on a connection (a heartbeat that failed or timed out) it
// removes the client's listeners and then ends it, and a restarting server's FATAL can arrive before the end. Such an error is reported to whoever
// opened a database here, and the process goes on; every client with a listener is left as it is.

const reporters = new Set<(error: Error) => void>();
let installed = false;

/** Reports to `report` the errors of clients nobody listens to, until the returned function is called. */
export function reportOrphanedClientErrors(report: (error: Error) => void): () => void {
  if (!installed) {
    installed = true;
    const emit = pg.Client.prototype.emit;
    pg.Client.prototype.emit = function (this: pg.Client, event: string | symbol, ...args: unknown[]): boolean {
      if (event !== 'error' || this.listenerCount('error') > 0) return emit.call(this, event, ...args);
      for (const reporter of reporters) reporter(args[0] as Error);
      return false;
    };
  }
  reporters.add(report);
  return () => reporters.delete(report);
}
