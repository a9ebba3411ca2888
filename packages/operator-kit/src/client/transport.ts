/**
 * HTTP transport to the API server: one keep-alive agent per client, credentials taken from a
 * client-node KubeConfig (kubeconfig files, in-cluster service-account tokens, exec plugins) and
 * refreshed periodically, JSON bodies passed through untouched.
 *
 * client-node's typed calls are not used for writes: its model serializer drops properties it does not
 * know (a CRD's `enum` or `x-kubernetes-validations`, any custom resource field) and it opens a new
 * agent per call. Watches are read as newline-delimited JSON streams with an idle timeout, so a
 * half-open connection is noticed.
 */

import type { IncomingMessage } from 'node:http';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent, type RequestOptions, request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, apiErrorFrom } from './errors.js';

export interface RequestInit {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout; default 60 s. */
  timeoutMs?: number;
}

const CREDENTIAL_REFRESH_MS = 60_000;

export class Transport {
  readonly server: URL;
  private readonly agent: Agent | HttpAgent;
  private headers: Record<string, string> = {};
  private headersAt = 0;

  private constructor(
    private readonly kc: KubeConfig,
    server: string,
    tls: RequestOptions,
    maxSockets: number,
  ) {
    this.server = new URL(server);
    const common = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 16) };
    this.agent =
      this.server.protocol === 'http:'
        ? new HttpAgent(common)
        : new Agent({
            ...common,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
          });
  }

  static async fromKubeConfig(kc: KubeConfig, options: { maxSockets?: number } = {}): Promise<Transport> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const t = new Transport(kc, cluster.server, opts, options.maxSockets ?? 64);
    t.headers = headersOf(opts);
    t.headersAt = Date.now();
    return t;
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  private async authHeaders(): Promise<Record<string, string>> {
    if (Date.now() - this.headersAt > CREDENTIAL_REFRESH_MS) {
      const opts: RequestOptions = {};
      await this.kc.applyToHTTPSOptions(opts);
      (opts.agent as Agent | undefined)?.destroy();
      this.headers = headersOf(opts);
      this.headersAt = Date.now();
    }
    return this.headers;
  }

  private url(path: string, query?: RequestInit['query']): URL {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url;
  }

  private async open(method: string, path: string, init: RequestInit): Promise<IncomingMessage> {
    const url = this.url(path, init.query);
    const payload =
      init.body === undefined
        ? undefined
        : typeof init.body === 'string'
          ? init.body
          : JSON.stringify(init.body);
    const headers: Record<string, string> = {
      ...(await this.authHeaders()),
      accept: 'application/json',
    };
    if (payload !== undefined) {
      headers['content-type'] = init.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'http:' ? httpRequest : request;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { method, headers, agent: this.agent, signal: init.signal }, resolve);
      req.on('error', (err) => reject(transportError(err, method, path)));
      if (init.timeoutMs) {
        req.setTimeout(init.timeoutMs, () => req.destroy(new Error(`timed out after ${init.timeoutMs} ms`)));
      }
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** One request; resolves to the parsed JSON body, rejects with a typed {@link ApiError}. */
  async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.open(method, path, { timeoutMs: 60_000, ...init });
    const text = await readBody(res, method, path);
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw apiErrorFrom(code, text, method, path);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A streaming GET (a watch): yields one parsed JSON value per line. Ends when the server closes the
   * stream; throws on an HTTP error, on `signal`, or when no byte arrived for `idleTimeoutMs`.
   */
  async *stream<T>(path: string, init: RequestInit & { idleTimeoutMs: number }): AsyncGenerator<T> {
    const res = await this.open('GET', path, { ...init, timeoutMs: undefined });
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw apiErrorFrom(code, await readBody(res, 'GET', path), 'GET', path);
    res.setEncoding('utf8');
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => res.destroy(new ApiError(0, 'Timeout', `GET ${path}: no data for ${init.idleTimeoutMs} ms`)),
        init.idleTimeoutMs,
      );
    };
    arm();
    let buffered = '';
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        arm();
        buffered += chunk;
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) yield JSON.parse(line) as T;
          nl = buffered.indexOf('\n');
        }
      }
    } catch (err) {
      throw transportError(err, 'GET', path);
    } finally {
      clearTimeout(idle);
      res.destroy();
    }
  }
}

function headersOf(opts: RequestOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (typeof v === 'string') out[k.toLowerCase()] = v;
  }
  if (opts.auth) out.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  return out;
}

function readBody(res: IncomingMessage, method: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      text += c;
    });
    res.on('end', () => resolve(text));
    res.on('error', (err) => reject(transportError(err, method, path)));
  });
}

function transportError(err: unknown, method: string, path: string): Error {
  if (err instanceof ApiError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(0, 'Transport', `${method} ${path}: ${message}`);
}
