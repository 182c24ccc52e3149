import { connect, createServer, type Server, type Socket } from 'node:net';

// A TCP proxy in front of the bot that can cut a connection in the middle of an answer: the next answer
// that carries jobs is dropped after its first bytes (the headers may reach the client, the jobs do not),
// as a NAT gateway or a restarting host would lose it.

export class CuttingProxy {
  url = '';
  /** Answers cut so far. */
  cuts = 0;
  /** Cut the next answer whose body holds a job. */
  cutNextJobs = false;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly target: { host: string; port: number };

  constructor(target: { host: string; port: number }) {
    this.target = target;
  }

  async start(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      let answer = '';
      client.on('data', (chunk) => {
        answer = '';
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        answer = (answer + chunk.toString('latin1')).slice(-256 * 1024);
        if (this.cutNextJobs && answer.includes('"jobs":[{')) {
          this.cutNextJobs = false;
          this.cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
