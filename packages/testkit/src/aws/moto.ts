/**
 * moto, the AWS emulator, as a local server process: the pinned version from the virtualenv that
 * `scripts/install-moto.sh` builds, on a free loopback port, in its own process group, watched by
 * the same detached reaper as the control plane so a killed parent leaves nothing behind.
 *
 * Guarantees: {@link MotoServer.start} returns a server that answers HTTP, or throws after stopping
 * what it started; {@link MotoServer.stop} leaves no process and no temp directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertPortFree, freePort } from '../ports.js';
import { ManagedProcess } from '../process.js';
import { REAPER_SCRIPT } from '../reaper.js';
import { cacheDir, packageRoot } from '../versions.js';
import { waitFor } from '../wait.js';
import { MOTO_LAUNCHER_SCRIPT } from './launcher.js';

export interface MotoServerOptions {
  /** Fixed port; by default a free one is chosen. */
  port?: number;
  /** Milliseconds allowed for start-up (default 60 s; moto imports take a few seconds). */
  startTimeoutMs?: number;
  /** Extra environment for moto, e.g. `MOTO_IAM_LOAD_MANAGED_POLICIES: 'true'` (the sandbox sets it). */
  env?: Record<string, string>;
}

/** Thrown when the moto virtualenv has not been installed; the message says how. */
export class MissingMotoError extends Error {
  constructor(readonly path: string) {
    super(
      `testkit: moto is not installed (expected ${path}/.complete). ` +
        'Install it with: bash packages/testkit/scripts/install-moto.sh   (or ./dev setup)',
    );
    this.name = 'MissingMotoError';
  }
}

/** The pinned moto version, read from `scripts/install-moto.sh` (its single source of truth). */
export function motoVersion(): string {
  const script = readFileSync(join(packageRoot(), 'scripts', 'install-moto.sh'), 'utf8');
  const m = /^MOTO_VERSION=(\S+)\s*$/m.exec(script);
  if (!m) throw new Error('testkit: MOTO_VERSION is missing from scripts/install-moto.sh');
  return m[1]!;
}

/** The virtualenv's python, or {@link MissingMotoError}. */
export function motoPython(): string {
  const dir = join(cacheDir(), `moto-${motoVersion()}`);
  const python = join(dir, 'bin', 'python');
  if (!existsSync(join(dir, '.complete')) || !existsSync(python)) throw new MissingMotoError(dir);
  return python;
}

export class MotoServer {
  private reaperPid: number | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL`. */
    readonly endpoint: string,
    readonly workDir: string,
    private readonly process: ManagedProcess,
  ) {}

  static async start(options: MotoServerOptions = {}): Promise<MotoServer> {
    const python = motoPython();
    if (options.port) await assertPortFree(options.port, 'moto');
    const port = options.port ?? (await freePort());
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const workDir = mkdtempSync(join(base, 'keiko-moto-'));
    const proc = ManagedProcess.start({
      name: 'moto',
      command: python,
      args: ['-c', MOTO_LAUNCHER_SCRIPT, '127.0.0.1', String(port)],
      logFile: join(workDir, 'moto.log'),
      // Real credentials or a profile in the parent's environment must never reach the emulator.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PYTHONUNBUFFERED: '1', ...options.env },
    });
    const server = new MotoServer(`http://127.0.0.1:${port}`, workDir, proc);
    server.startReaper();
    try {
      const died = proc.exited.then(() => {
        throw proc.exitError();
      });
      died.catch(() => {});
      await Promise.race([
        waitFor(
          async () => {
            const res = await fetch(`${server.endpoint}/_keiko/v1/healthz`, {
              signal: AbortSignal.timeout(1_000),
            });
            return res.ok;
          },
          {
            description: `moto to answer on ${server.endpoint} (log: ${proc.spec.logFile})`,
            timeoutMs: options.startTimeoutMs ?? 60_000,
            intervalMs: 100,
          },
        ),
        died,
      ]);
      return server;
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  get pid(): number {
    return this.process.pid;
  }

  /** False once the process has exited (a crash, if nobody called stop). */
  get running(): boolean {
    return this.process.running;
  }

  get logFile(): string {
    return this.process.spec.logFile;
  }

  /**
   * Forgets every resource in every account (moto's `/moto-api/reset`). Test files normally isolate
   * themselves by account instead (see `createTestAwsAccount`), so that files running in parallel on
   * the shared emulator do not wipe each other's state.
   */
  async reset(): Promise<void> {
    const res = await fetch(`${this.endpoint}/moto-api/reset`, { method: 'POST' });
    if (!res.ok) throw new Error(`testkit: moto reset failed: ${res.status} ${await res.text()}`);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.process.stop();
      rmSync(this.workDir, { recursive: true, force: true });
      if (this.reaperPid !== undefined) {
        try {
          process.kill(this.reaperPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    })();
    return this.stopping;
  }

  private startReaper(): void {
    const stateFile = join(this.workDir, 'reaper.json');
    writeFileSync(stateFile, JSON.stringify({ workDir: this.workDir, groups: [this.process.pid] }));
    const reaper = spawn(process.execPath, ['-e', REAPER_SCRIPT, String(process.pid), stateFile], {
      detached: true,
      stdio: 'ignore',
    });
    reaper.unref();
    this.reaperPid = reaper.pid;
  }
}
