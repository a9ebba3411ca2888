/**
 * The ops endpoint every controller exposes: `/healthz` (the process is alive), `/readyz` (every check
 * passes: caches synced, ...), `/metrics` (Prometheus text from a prom-client registry).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type Check = () => boolean | string;

export class OpsServer {
  private server: Server | undefined;
  private readonly readyChecks = new Map<string, Check>();
  private readonly healthChecks = new Map<string, Check>();

  constructor(private readonly registry: Registry) {}

  addReadyCheck(name: string, check: Check): void {
    this.readyChecks.set(name, check);
  }

  addHealthCheck(name: string, check: Check): void {
    this.healthChecks.set(name, check);
  }

  /** Listens on `port` (0: any free port) and resolves to the bound port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const run = (checks: Map<string, Check>) => {
        const failed: string[] = [];
        for (const [name, check] of checks) {
          const r = check();
          if (r !== true) failed.push(`${name}: ${r === false ? 'failed' : r}`);
        }
        res.writeHead(failed.length ? 503 : 200, { 'content-type': 'text/plain' });
        res.end(failed.length ? `${failed.join('\n')}\n` : 'ok\n');
      };
      if (path === '/healthz' || path === '/livez') return run(this.healthChecks);
      if (path === '/readyz') return run(this.readyChecks);
      if (path === '/metrics') {
        this.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': this.registry.contentType });
            res.end(text);
          },
          (err: unknown) => {
            res.writeHead(500);
            res.end(String(err));
          },
        );
        return;
      }
      res.writeHead(404);
      res.end('not found\n');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
