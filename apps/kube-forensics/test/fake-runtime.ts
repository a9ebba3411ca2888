/**
 * An in-process fake of the node's container runtime, for the tests that need what a real one cannot
 * give on demand (a sandbox whose logs are missing, arbitrary PIDs, the controller's manual node): the
 * CRI answers (sandbox and container inspect, host PIDs) come from this table while the files they
 * point at (/proc, /var/log/pods, the overlay upper dir) are a directory fixture (fixture.ts) that the
 * worker reads with its production code. containerd.test.ts runs the same capture on a real containerd.
 */
import type { ContainerInfo, ContainerRuntime, PodRef, SandboxInfo } from '../src/worker/runtime.js';

export interface FakeContainer {
  id: string;
  /** Host PID of the init process; omitted for an exited container. */
  pid?: number;
  imageRef?: string;
}

export class FakeRuntime implements ContainerRuntime {
  readonly calls: string[] = [];
  constructor(
    private readonly sandboxes: (PodRef & { id: string })[],
    private readonly containers: FakeContainer[],
    private readonly options: { unavailable?: boolean } = {},
  ) {}

  async findSandbox(pod: PodRef): Promise<SandboxInfo | undefined> {
    this.calls.push(`pods ${pod.namespace}/${pod.name}`);
    if (this.options.unavailable) throw new Error('connect ENOENT /host/run/containerd/containerd.sock');
    const s = this.sandboxes.find(
      (x) => x.uid === pod.uid && x.name === pod.name && x.namespace === pod.namespace,
    );
    if (!s) return undefined;
    return {
      id: s.id,
      inspect: {
        status: {
          id: s.id,
          metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid },
          state: 'SANDBOX_READY',
        },
      },
    };
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    this.calls.push(`inspect ${id}`);
    const c = this.containers.find((x) => x.id === id);
    if (!c) throw new Error(`rpc error: code = NotFound desc = container "${id}" not found`);
    return {
      id,
      inspect: {
        status: { id, state: c.pid ? 'CONTAINER_RUNNING' : 'CONTAINER_EXITED', imageRef: c.imageRef },
        info: { pid: c.pid ?? 0 },
      },
      ...(c.pid ? { pid: c.pid } : {}),
      ...(c.imageRef ? { imageRef: c.imageRef } : {}),
    };
  }
}
