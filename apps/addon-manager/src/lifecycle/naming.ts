/**
 * Workflow names and identity labels.
 *
 * A workflow is identified by labels (addon UID, step, spec hash, run), never by parsing its name,
 * so addon names are not capped at 31 characters as upstream's were. The name is still
 * deterministic (same addon, step and run -> same name), which makes creation idempotent across
 * restarts: a second create gets AlreadyExists instead of a duplicate workflow.
 *
 * Names stay within 63 characters because Argo copies the workflow name into the
 * `workflows.argoproj.io/workflow` label of every pod (label values are limited to 63).
 */
import { shortHash } from './hash.js';

export type Step = 'prereqs' | 'install' | 'delete';

export const LABEL_ADDON_UID = 'addonmgr.keikoproj.io/addon-uid';
export const LABEL_STEP = 'addonmgr.keikoproj.io/step';
export const LABEL_SPEC_HASH = 'addonmgr.keikoproj.io/spec-hash';
export const LABEL_RUN = 'addonmgr.keikoproj.io/run';
export const MANAGED_BY = 'addonmgr.keikoproj.io';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_VERSION = 'app.kubernetes.io/version';
export const LABEL_INSTANCE_ID = 'workflows.argoproj.io/controller-instanceid';

const MAX_NAME = 63;

/**
 * The run id of one attempt: the spec hash, plus the retry token when the addon was retried. Every
 * workflow of one attempt carries it; a new attempt gets new workflow names.
 */
export function runId(specHash: string, retryToken: string | undefined): string {
  return retryToken ? shortHash(`${specHash}/${retryToken}`, 10) : specHash.slice(0, 10);
}

/**
 * `<addon>[-<namePrefix>]-<step>-<run>`, at most 63 characters: a long addon name is cut and
 * suffixed with a hash of the whole name so two long names sharing a prefix still differ.
 */
export function workflowName(addonName: string, step: Step, run: string, namePrefix?: string): string {
  const tail = `${namePrefix ? `-${namePrefix}` : ''}-${step}-${run}`;
  const room = MAX_NAME - tail.length;
  const head =
    addonName.length <= room
      ? addonName
      : `${addonName.slice(0, room - 7).replace(/[-.]+$/, '')}-${shortHash(addonName, 6)}`;
  return `${head.replaceAll('.', '-')}${tail}`;
}

/** A valid label value (<= 63 characters) for an addon name: long names are cut and hashed. */
export function labelValue(value: string): string {
  if (value.length <= MAX_NAME) return value;
  return `${value.slice(0, MAX_NAME - 7).replace(/[-_.]+$/, '')}-${shortHash(value, 6)}`;
}
