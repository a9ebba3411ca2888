/**
 * Which containers of the target pod to capture, and with which runtime: every container (init and
 * ephemeral included) unless `spec.containers` names some. Container IDs come from the pod's status
 * (`containerd://<id>`, `cri-o://<id>`, `docker://<id>` through cri-dockerd); the worker reaches each
 * runtime through its CRI socket, so any other prefix is an unsupported runtime.
 */
export const SUPPORTED_RUNTIMES = ['containerd', 'cri-o', 'docker'] as const;
export type RuntimeName = (typeof SUPPORTED_RUNTIMES)[number];

export type ContainerKind = 'init' | 'container' | 'ephemeral';

/** One container the worker captures (passed to it in the `CONTAINERS` env var as JSON). */
export interface CaptureTarget {
  name: string;
  kind: ContainerKind;
  runtime: RuntimeName;
  /** Runtime container ID, without the `runtime://` prefix. */
  id: string;
  image?: string;
  /** The image digest the runtime reports (`imageID`). */
  imageID?: string;
  running: boolean;
  restartCount: number;
}

interface ContainerStatus {
  name: string;
  containerID?: string;
  image?: string;
  imageID?: string;
  restartCount?: number;
  state?: { running?: unknown; terminated?: unknown; waiting?: unknown };
}

/** The parts of a Pod this module reads. */
export interface PodLike {
  spec?: {
    nodeName?: string;
    containers?: { name: string }[];
    initContainers?: { name: string }[];
    ephemeralContainers?: { name: string }[];
  };
  status?: {
    phase?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    ephemeralContainerStatuses?: ContainerStatus[];
  };
}

export type ContainerSelection =
  | { kind: 'ready'; targets: CaptureTarget[]; notStarted: string[] }
  | { kind: 'wait'; reason: 'PodNotScheduled' | 'ContainersNotStarted'; message: string }
  | { kind: 'fail'; reason: 'ContainerNotFound' | 'UnsupportedRuntime'; message: string };

/** `containerd://abc` -> { runtime: containerd, id: abc }; undefined for anything else. */
export function parseContainerId(containerID: string): { runtime: string; id: string } | undefined {
  const m = /^([a-z0-9-]+):\/\/([A-Za-z0-9_.-]+)$/.exec(containerID);
  return m ? { runtime: m[1]!, id: m[2]! } : undefined;
}

/** Decides which containers to capture, or why the request must wait or fail. Pure. */
export function selectContainers(pod: PodLike, wanted: readonly string[] | undefined): ContainerSelection {
  if (!pod.spec?.nodeName) {
    return { kind: 'wait', reason: 'PodNotScheduled', message: 'the pod is not bound to a node yet' };
  }
  const declared: { name: string; kind: ContainerKind }[] = [
    ...(pod.spec.initContainers ?? []).map((c) => ({ name: c.name, kind: 'init' as const })),
    ...(pod.spec.containers ?? []).map((c) => ({ name: c.name, kind: 'container' as const })),
    ...(pod.spec.ephemeralContainers ?? []).map((c) => ({ name: c.name, kind: 'ephemeral' as const })),
  ];
  const missing = (wanted ?? []).filter((w) => !declared.some((d) => d.name === w));
  if (missing.length > 0) {
    return {
      kind: 'fail',
      reason: 'ContainerNotFound',
      message: `the pod has no container named ${missing.join(', ')}`,
    };
  }
  const chosen = wanted?.length ? declared.filter((d) => wanted.includes(d.name)) : declared;
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ];
  const targets: CaptureTarget[] = [];
  const notStarted: string[] = [];
  for (const c of chosen) {
    const s = statuses.find((x) => x.name === c.name);
    if (!s?.containerID) {
      notStarted.push(c.name);
      continue;
    }
    const parsed = parseContainerId(s.containerID);
    if (!parsed || !(SUPPORTED_RUNTIMES as readonly string[]).includes(parsed.runtime)) {
      return {
        kind: 'fail',
        reason: 'UnsupportedRuntime',
        message: `container ${c.name} has ID ${s.containerID}; supported runtimes: ${SUPPORTED_RUNTIMES.join(', ')}`,
      };
    }
    targets.push({
      name: c.name,
      kind: c.kind,
      runtime: parsed.runtime as RuntimeName,
      id: parsed.id,
      ...(s.image ? { image: s.image } : {}),
      ...(s.imageID ? { imageID: s.imageID } : {}),
      running: Boolean(s.state?.running),
      restartCount: s.restartCount ?? 0,
    });
  }
  // Regular containers that have not started yet may still start: wait for them (an init container
  // that never ran, because an earlier one failed, or an unstarted ephemeral one, will not).
  const pendingMain = notStarted.filter((n) => chosen.find((c) => c.name === n)?.kind === 'container');
  if (targets.length === 0 || pendingMain.length > 0) {
    return {
      kind: 'wait',
      reason: 'ContainersNotStarted',
      message: `waiting for container IDs of ${(pendingMain.length ? pendingMain : notStarted).join(', ') || 'the pod'}`,
    };
  }
  return { kind: 'ready', targets, notStarted };
}
