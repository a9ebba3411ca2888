/**
 * The workflow YAML of a block: inline, or fetched from a URL with a timeout, TLS verification
 * (unless `verifyCert: false`) and a TTL cache shared by every HealthCheck, so 500 checks naming the
 * same URL fetch it once per TTL. The file source of upstream's API was never implemented: an error.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { WorkflowBlock } from '../api/healthcheck.js';

export class SourceError extends Error {
  override name = 'SourceError';
  constructor(
    readonly reason: 'SourceUnsupported' | 'SourceFetchFailed',
    message: string,
  ) {
    super(message);
  }
}

export interface SourceFetcherOptions {
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** How long a fetched document is reused; default 5 min. */
  ttlMs?: number;
  /** Largest document accepted; default 1 MiB. */
  maxBytes?: number;
}

export class SourceFetcher {
  private readonly cache = new Map<string, { body: string; at: number }>();
  private readonly inflight = new Map<string, Promise<string>>();
  constructor(private readonly options: SourceFetcherOptions = {}) {}

  async load(block: WorkflowBlock, now = Date.now()): Promise<string> {
    const source = block.resource.source;
    if (source.inline) return source.inline;
    if (source.url) return this.fetch(source.url.path, source.url.verifyCert !== false, now);
    throw new SourceError(
      'SourceUnsupported',
      'source.file is not supported (upstream never implemented it): use inline or url',
    );
  }

  private async fetch(url: string, verify: boolean, now: number): Promise<string> {
    const key = `${verify}|${url}`;
    const hit = this.cache.get(key);
    if (hit && now - hit.at < (this.options.ttlMs ?? 300_000)) return hit.body;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.get(url, verify).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const body = await p;
    this.cache.set(key, { body, at: now });
    return body;
  }

  private get(url: string, verify: boolean): Promise<string> {
    const timeout = this.options.timeoutMs ?? 10_000;
    const maxBytes = this.options.maxBytes ?? 1 << 20;
    return new Promise((resolve, reject) => {
      const fail = (message: string) =>
        reject(new SourceError('SourceFetchFailed', `fetching ${url}: ${message}`));
      const u = new URL(url);
      const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
        u,
        { method: 'GET', timeout, ...(u.protocol === 'https:' ? { rejectUnauthorized: verify } : {}) },
        (res) => {
          if ((res.statusCode ?? 0) >= 300) {
            res.resume();
            fail(`HTTP ${res.statusCode}`);
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBytes) {
              req.destroy();
              fail(`larger than ${maxBytes} bytes`);
            } else chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', (e) => fail(e.message));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${timeout} ms`)));
      req.on('error', (e) => fail(e.message));
      req.end();
    });
  }
}
