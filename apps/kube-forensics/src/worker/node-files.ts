/**
 * What the worker reads from the node's filesystem, mounted read-only under the host root (`/host`):
 * the kubelet's pod log directories, a container's overlayfs upper dir (its filesystem diff), and
 * process state under `/proc`. Every path is derived from the host root, so tests point it at a fixture.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { PodRef } from './runtime.js';

/** `/var/log/pods/<ns>_<pod>_<uid>/<container>/`: current (`N.log`), previous (`N-1.log`) and rotated (`N.log.<date>[.gz]`) logs. */
export function podLogDir(hostRoot: string, pod: PodRef, container: string): string {
  return join(hostRoot, 'var/log/pods', `${pod.namespace}_${pod.name}_${pod.uid}`, container);
}

/**
 * The upper dir of the overlay mounted as the process's root (from `/proc/<pid>/mountinfo`): the files
 * the container added, changed or deleted (whiteouts) on top of its image. A host path, re-rooted.
 */
export async function upperDir(hostRoot: string, pid: number): Promise<string> {
  const text = await readFile(join(hostRoot, 'proc', String(pid), 'mountinfo'), 'utf8');
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fsType, , superOptions] = right.split(' ');
    if (mountPoint !== '/' || fsType !== 'overlay' || !superOptions) continue;
    const upper = superOptions.split(',').find((o) => o.startsWith('upperdir='));
    if (upper) return join(hostRoot, upper.slice('upperdir='.length));
  }
  throw new Error(`process ${pid} has no overlay root mount with an upperdir`);
}

export interface ProcessState {
  pid: number;
  ppid: number;
  cmdline: string[];
  environ: string[] | { error: string };
  status: string;
  maps: string | { error: string };
  fds: { fd: string; target: string }[] | { error: string };
}

async function tryRead<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const nulList = (s: string) => s.split('\0').filter(Boolean);

async function parentOf(procRoot: string, pid: string): Promise<number | undefined> {
  try {
    const stat = await readFile(join(procRoot, pid, 'stat'), 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/** The container's init process and its descendants. */
export async function processTree(hostRoot: string, pid: number): Promise<number[]> {
  const procRoot = join(hostRoot, 'proc');
  const pids = (await readdir(procRoot)).filter((d) => /^\d+$/.test(d));
  const parents = new Map<number, number>();
  await Promise.all(
    pids.map(async (p) => {
      const ppid = await parentOf(procRoot, p);
      if (ppid !== undefined) parents.set(Number(p), ppid);
    }),
  );
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i] && !tree.includes(child)) tree.push(child);
  }
  return tree;
}

/** cmdline, environ, status, maps and open files of every process of the container, plus its sockets. */
export async function processState(hostRoot: string, pid: number) {
  const procRoot = join(hostRoot, 'proc');
  const processes: ProcessState[] = [];
  for (const p of await processTree(hostRoot, pid)) {
    const dir = join(procRoot, String(p));
    processes.push({
      pid: p,
      ppid: (await parentOf(procRoot, String(p))) ?? 0,
      cmdline: nulList(await readFile(join(dir, 'cmdline'), 'utf8').catch(() => '')),
      environ: await tryRead(async () => nulList(await readFile(join(dir, 'environ'), 'utf8'))),
      status: await readFile(join(dir, 'status'), 'utf8').catch(() => ''),
      maps: await tryRead(() => readFile(join(dir, 'maps'), 'utf8')),
      fds: await tryRead(async () =>
        Promise.all(
          (await readdir(join(dir, 'fd'))).map(async (fd) => ({
            fd,
            target: await readlink(join(dir, 'fd', fd)).catch(() => '?'),
          })),
        ),
      ),
    });
  }
  // Sockets are per network namespace: the init process's view covers the pod.
  const net: Record<string, string> = {};
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6', 'unix']) {
    net[table] = await readFile(join(procRoot, String(pid), 'net', table), 'utf8').catch(() => '');
  }
  return { pid, processes, net };
}
