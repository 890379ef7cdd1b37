import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay to a real server (Postgres, in the tests that use it) that a test can make go
 * silent or away: `freeze()` stops passing bytes both ways and leaves every connection open,
 * as a host lost to a network fault does (the client's kernel still gets its data
 * acknowledged, and no answer ever comes), `thaw()` passes them again, `freezeOpen()` silences
 * only the connections open now, and `cut()` closes every connection and refuses new ones.
 */
export class TcpRelay {
  private readonly sockets = new Set<Socket>();
  private readonly silenced = new WeakSet<Socket>();
  private frozen = false;
  private server?: Server;
  private boundPort = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts listening on an ephemeral port of 127.0.0.1 (the same one again after cut()). */
  async start(): Promise<this> {
    const server = createServer((client) => this.relay(client));
    await new Promise<void>((resolve) => server.listen(this.boundPort, '127.0.0.1', resolve));
    this.boundPort = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  get port(): number {
    return this.boundPort;
  }

  /** `url` (a postgres:// URL) pointed at this relay. */
  urlFor(url: string): string {
    const relayed = new URL(url);
    relayed.hostname = '127.0.0.1';
    relayed.port = String(this.boundPort);
    return relayed.href;
  }

  /** Connections open through the relay now (each counted once). */
  get connections(): number {
    return this.sockets.size / 2;
  }

  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  /**
   * Silences the connections open now, for good (a failed-over primary's old address), while
   * new ones pass: what a pool must get over by itself.
   */
  freezeOpen(): void {
    for (const s of this.sockets) {
      s.pause();
      this.silenced.add(s);
    }
  }

  thaw(): void {
    this.frozen = false;
    for (const s of this.sockets) if (!this.silenced.has(s)) s.resume();
  }

  /** Closes every connection and stops listening; start() listens on the same port again. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  private relay(client: Socket): void {
    const server = connect(this.targetPort, this.targetHost);
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.on('error', () => undefined).on('close', () => this.sockets.delete(s));
      if (this.frozen) s.pause();
    }
    // pipe() resumes a paused source when its destination drains; forwarding by hand keeps a
    // frozen relay silent.
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => to.write(chunk));
      from.on('close', () => to.destroy());
    };
    forward(client, server);
    forward(server, client);
  }
}
