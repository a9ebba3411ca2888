/**
 * The worker's view of the node's container runtime: the CRI calls a capture needs, behind an
 * interface. {@link CrictlRuntime} is the real one (crictl against the CRI socket, for containerd,
 * CRI-O and cri-dockerd alike), tested against a real containerd (test/containerd.test.ts); the
 * other worker and controller tests use an in-process fake over a directory fixture.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface SandboxInfo {
  id: string;
  /** The runtime's own `inspectp` answer, kept verbatim as evidence. */
  inspect: unknown;
}

export interface ContainerInfo {
  id: string;
  /** The runtime's own `inspect` answer, kept verbatim as evidence. */
  inspect: unknown;
  /** Host PID of the container's init process; undefined when it is not running. */
  pid?: number;
  /** Image reference the runtime resolved (a digest where the runtime knows it). */
  imageRef?: string;
}

export interface ContainerRuntime {
  /** The pod's sandbox on this node, found by namespace, name and UID; undefined when it is gone. */
  findSandbox(pod: PodRef): Promise<SandboxInfo | undefined>;
  /** Inspects one container; throws when the runtime does not know it. */
  inspectContainer(id: string): Promise<ContainerInfo>;
}

const run = promisify(execFile);

interface CrictlPods {
  items?: { id: string; metadata?: { name?: string; namespace?: string; uid?: string } }[];
}

interface CrictlInspect {
  status?: { id?: string; imageRef?: string; state?: string };
  info?: { pid?: number };
}

/** CRI through `crictl` (shipped in the worker image) on `endpoint` (`unix:///host/run/containerd/containerd.sock`). */
export class CrictlRuntime implements ContainerRuntime {
  constructor(
    private readonly endpoint: string,
    private readonly crictl = 'crictl',
  ) {}

  private async json<T>(args: string[]): Promise<T> {
    const { stdout } = await run(
      this.crictl,
      ['--runtime-endpoint', this.endpoint, '--timeout', '30s', ...args],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return JSON.parse(stdout) as T;
  }

  async findSandbox(pod: PodRef): Promise<SandboxInfo | undefined> {
    const pods = await this.json<CrictlPods>([
      'pods',
      '--namespace',
      pod.namespace,
      '--name',
      pod.name,
      '-o',
      'json',
    ]);
    const match = (pods.items ?? []).find((p) => p.metadata?.uid === pod.uid);
    if (!match) return undefined;
    return { id: match.id, inspect: await this.json<unknown>(['inspectp', '-o', 'json', match.id]) };
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    const inspect = await this.json<CrictlInspect>(['inspect', '-o', 'json', id]);
    const pid = inspect.info?.pid;
    return {
      id,
      inspect,
      ...(pid && pid > 0 && inspect.status?.state === 'CONTAINER_RUNNING' ? { pid } : {}),
      ...(inspect.status?.imageRef ? { imageRef: inspect.status.imageRef } : {}),
    };
  }
}
