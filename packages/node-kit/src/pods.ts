/**
 * Which pods a drain evicts, skips or refuses: pure, so the rules read as a table.
 *
 * - mirror pods (static pods the kubelet reflects into the API) cannot be evicted: skipped;
 * - DaemonSet pods would come straight back: skipped (refused when `ignoreDaemonSets` is false);
 * - pods already terminating: not evicted again, but the drain waits for them;
 * - pods with emptyDir data: evicted (the data is lost) unless `deleteEmptyDirData` is false;
 * - pods without a controller (bare pods) are not recreated elsewhere: evicted only with `force`.
 */
import type { KubeObject } from '@keiko/operator-kit';

export interface Pod extends KubeObject {
  spec?: {
    nodeName?: string;
    volumes?: { name: string; emptyDir?: unknown }[];
    [k: string]: unknown;
  };
  status?: { phase?: string; [k: string]: unknown };
}

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

export interface PodSelectionOptions {
  /** Default true (kubectl drain --ignore-daemonsets). */
  ignoreDaemonSets?: boolean;
  /** Default true (kubectl drain --delete-emptydir-data). */
  deleteEmptyDirData?: boolean;
  /** Evict pods no controller will recreate. Default true, as upstream upgrade-manager drains with --force. */
  force?: boolean;
}

export interface PodDecision {
  pod: string;
  reason: string;
}

export interface PodSelection {
  evict: Pod[];
  /** Left on the node on purpose. */
  skip: PodDecision[];
  /** Terminating already: the drain waits for them to go. */
  terminating: Pod[];
  /** Blocking the drain under the given options. */
  refuse: PodDecision[];
}

export const podKey = (p: Pod): string => `${p.metadata.namespace}/${p.metadata.name}`;

export function podsToEvict(pods: readonly Pod[], options: PodSelectionOptions = {}): PodSelection {
  const { ignoreDaemonSets = true, deleteEmptyDirData = true, force = true } = options;
  const out: PodSelection = { evict: [], skip: [], terminating: [], refuse: [] };
  for (const pod of pods) {
    const key = podKey(pod);
    const controller = pod.metadata.ownerReferences?.find((r) => r.controller);
    if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) {
      out.skip.push({ pod: key, reason: 'MirrorPod' });
    } else if (controller?.kind === 'DaemonSet') {
      if (ignoreDaemonSets) out.skip.push({ pod: key, reason: 'DaemonSetPod' });
      else out.refuse.push({ pod: key, reason: 'DaemonSetPod' });
    } else if (pod.metadata.deletionTimestamp) {
      out.terminating.push(pod);
    } else if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      out.evict.push(pod); // finished: nothing to protect, evicting just removes it
    } else if (!deleteEmptyDirData && pod.spec?.volumes?.some((v) => v.emptyDir !== undefined)) {
      out.refuse.push({ pod: key, reason: 'EmptyDirData' });
    } else if (!controller && !force) {
      out.refuse.push({ pod: key, reason: 'Unmanaged' });
    } else {
      out.evict.push(pod);
    }
  }
  return out;
}
