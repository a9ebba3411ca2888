/**
 * Child processes of the control plane: spawned in their own process group with output in a log
 * file, watched for early exit, and stopped with SIGTERM then SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ProcessSpec {
  /** Short name used in errors and logs, e.g. `kube-apiserver`. */
  name: string;
  command: string;
  args: string[];
  /** File receiving stdout and stderr. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running child. `exited` settles when it ends, whoever ended it. */
export class ManagedProcess {
  readonly exited: Promise<ExitStatus>;
  private exitStatus: ExitStatus | undefined;

  private constructor(
    readonly spec: ProcessSpec,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
    });
  }

  static start(spec: ProcessSpec): ManagedProcess {
    const fd = openSync(spec.logFile, 'a');
    try {
      const child = spawn(spec.command, spec.args, {
        // A process group of its own, so stop() and the reaper can signal the whole tree.
        detached: true,
        stdio: ['ignore', fd, fd],
        env: spec.env ?? process.env,
      });
      if (child.pid === undefined) throw new Error(`testkit: could not start ${spec.name} (${spec.command})`);
      // The parent must not wait for these children to exit on its own; stop() and the reaper do that.
      child.unref();
      return new ManagedProcess(spec, child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** The last `lines` lines of the process's log, for error messages. */
  logTail(lines = 25): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** An error describing an unexpected exit, with the log tail. */
  exitError(): Error {
    const how = this.exitStatus?.signal
      ? `signal ${this.exitStatus.signal}`
      : `code ${this.exitStatus?.code}`;
    return new Error(
      `testkit: ${this.spec.name} exited with ${how}. Log ${this.spec.logFile}, last lines:\n${this.logTail()}`,
    );
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    signalGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    // Children of the child (none today, but a wrapper might fork) get the same treatment.
    signalGroup(this.pid, 'SIGKILL');
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** True if a process with this pid exists (and is not a zombie). */
export function processExists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 is the state; Z = zombie, X = dead.
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
