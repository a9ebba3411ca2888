/** @keiko/node-kit: cordon, uncordon and drain, shared by upgrade-manager and governor. */
export {
  cordon,
  type DrainOptions,
  type DrainResult,
  drainNode,
  evictPod,
  type NodeObject,
  uncordon,
} from './drain.js';
export {
  MIRROR_POD_ANNOTATION,
  type Pod,
  type PodDecision,
  type PodSelection,
  type PodSelectionOptions,
  podKey,
  podsToEvict,
} from './pods.js';
