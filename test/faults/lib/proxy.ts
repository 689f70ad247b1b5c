import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a port, which the test switches between passing traffic
 * and stalling it: a stalled proxy still accepts connections but forwards nothing either way
 * (it holds the bytes back), as a remote whose disk hangs or whose network drops packets does.
 */
export interface StallProxy {
  readonly port: number;
  /** Stops forwarding on every connection, open and new. */
  stall(): void;
  /** Forwards again, starting with what was held back. */
  pass(): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

/** One direction of a proxied connection. */
class Pipe {
  private held: Buffer[] = [];

  constructor(
    private readonly to: Socket,
    private readonly stalled: () => boolean,
  ) {}

  data(chunk: Buffer): void {
    if (this.stalled()) this.held.push(chunk);
    else this.to.write(chunk);
  }

  flush(): void {
    for (const chunk of this.held) this.to.write(chunk);
    this.held = [];
  }
}

export async function startStallProxy(targetPort: number): Promise<StallProxy> {
  let stalled = false;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const pipes = new Set<Pipe>();
  const isStalled = (): boolean => stalled;
  const join = (from: Socket, to: Socket): void => {
    const pipe = new Pipe(to, isStalled);
    pipes.add(pipe);
    sockets.add(from);
    from.on('data', (chunk: Buffer) => {
      pipe.data(chunk);
    });
    from.on('error', () => undefined);
    from.on('close', () => {
      sockets.delete(from);
      pipes.delete(pipe);
      to.destroy();
    });
  };
  const server = createServer((client) => {
    accepted++;
    const upstream = connect(targetPort, '127.0.0.1');
    join(client, upstream);
    join(upstream, client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('proxy: no port');
  return {
    port: addr.port,
    stall() {
      stalled = true;
    },
    pass() {
      stalled = false;
      for (const p of pipes) p.flush();
    },
    get accepted() {
      return accepted;
    },
    async close() {
      for (const s of sockets) s.destroy();
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}
