/** Free loopback ports, and a clear error when a requested one is taken. */
import { createServer } from 'node:net';

/** Asks the kernel for a free port on 127.0.0.1 (bind to 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('testkit: could not allocate a free port'));
      });
    });
  });
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly purpose: string,
  ) {
    super(
      `testkit: port ${port} (${purpose}) on 127.0.0.1 is already in use. ` +
        `Find the owner with: ss -ltnp 'sport = :${port}'  — stop it, or leave the port unset to get a free one.`,
    );
    this.name = 'PortInUseError';
  }
}

/** Resolves if `port` can be bound on 127.0.0.1, otherwise rejects with {@link PortInUseError}. */
export function assertPortFree(port: number, purpose: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(port, purpose) : err);
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
