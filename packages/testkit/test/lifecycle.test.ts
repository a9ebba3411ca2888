/**
 * Control-plane lifecycle: every exit path leaves nothing running, and setup problems give errors
 * that name the fix. These tests start small control planes of their own (etcd + kube-apiserver).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { ControlPlane, MissingBinaryError, PortInUseError, processExists, waitFor } from '../src/index.js';

const apiServerOnly = { controllerManager: false, scheduler: false, kwok: false } as const;

describe('ControlPlane lifecycle', () => {
  it('stop() leaves no process and no work directory behind', async () => {
    const cp = await ControlPlane.start(apiServerOnly);
    const pids = Object.values(cp.pids());
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(processExists(pid)).toBe(true);
    // It really serves: without kube-controller-manager the ServiceAccount admission plugin is off,
    // so a namespace and a pod can be created straight away.
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'lifecycle' } } });

    await cp.stop();
    for (const pid of pids) expect(processExists(pid)).toBe(false);
    expect(cp.allProcessesGone()).toBe(true);
    expect(existsSync(cp.workDir)).toBe(false);
    await cp.stop(); // idempotent
  });

  it('a parent killed with SIGKILL is cleaned up after by the reaper', async () => {
    // A separate Node process starts a control plane from the built package, reports, and is killed.
    const dist = resolve(import.meta.dirname, '..', 'dist', 'index.js');
    const script = `
      import { ControlPlane } from ${JSON.stringify(dist)};
      const cp = await ControlPlane.start({ controllerManager: false, scheduler: false, kwok: false });
      console.log(JSON.stringify({ pids: Object.values(cp.pids()), workDir: cp.workDir }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const report = await new Promise<{ pids: number[]; workDir: string }>((res, rej) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) res(JSON.parse(out.split('\n')[0]!));
      });
      child.once('exit', (code) => rej(new Error(`child exited early with ${code}`)));
    });
    for (const pid of report.pids) expect(processExists(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => report.pids.every((pid) => !processExists(pid)) && !existsSync(report.workDir), {
      description: 'the reaper to stop etcd and kube-apiserver and remove the work directory',
      timeoutMs: 20_000,
      intervalMs: 100,
    });
  });

  it('names the build command when a binary is missing', async () => {
    const emptyCache = mkdtempSync(join(tmpdir(), 'keiko-empty-cache-'));
    const saved = process.env.KEIKO_CACHE_DIR;
    process.env.KEIKO_CACHE_DIR = emptyCache;
    try {
      const err = await ControlPlane.start(apiServerOnly).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MissingBinaryError);
      expect((err as Error).message).toContain('bash packages/testkit/scripts/build-binaries.sh etcd');
    } finally {
      if (saved === undefined) delete process.env.KEIKO_CACHE_DIR;
      else process.env.KEIKO_CACHE_DIR = saved;
      rmSync(emptyCache, { recursive: true, force: true });
    }
  });

  it('says which port is taken and how to find its owner', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await ControlPlane.start({ ...apiServerOnly, apiServerPort: port }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PortInUseError);
      expect((err as Error).message).toContain(`port ${port}`);
      expect((err as Error).message).toContain(`ss -ltnp`);
    } finally {
      blocker.close();
    }
  });
});
