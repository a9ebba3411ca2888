/**
 * Building the Workflow a run submits, from the HealthCheck and the workflow YAML (pure).
 *
 * Kept from the template: `spec` and the user's `metadata.labels`/`annotations`. Added: the Argo
 * instance-id label when the template has none (so a dedicated Argo controller picks it up), our
 * labels (`healthcheck-uid`, `run-type`) for the label-filtered watch, the owning HealthCheck's key
 * and the slot the run is for (`scheduled-at`) in annotations, `serviceAccountName`,
 * `activeDeadlineSeconds` (the run timeout unless given), `podGC: OnPodCompletion` unless given,
 * and a controller ownerReference when the Workflow lives in the HealthCheck's namespace (an owner
 * in another namespace is treated as absent by the garbage collector, which could delete the
 * Workflow at once).
 *
 * Names are deterministic (prefix + schedule slot), so a create repeated after a crash finds the
 * Workflow it already made instead of making a second one.
 */
import { controllerReference, type KubeObject } from '@keiko/operator-kit';
import { parse } from 'yaml';
import type { HealthCheck, WorkflowBlock } from '../api/healthcheck.js';

export const HEALTHCHECK_UID_LABEL = 'activemonitor.keikoproj.io/healthcheck-uid';
export const RUN_TYPE_LABEL = 'activemonitor.keikoproj.io/run-type';
export const HEALTHCHECK_ANNOTATION = 'activemonitor.keikoproj.io/healthcheck';
/** The schedule slot (RFC 3339, UTC) a run was started for; drift is measured against it. */
export const SCHEDULED_AT_ANNOTATION = 'activemonitor.keikoproj.io/scheduled-at';
export const INSTANCE_ID_LABEL = 'workflows.argoproj.io/controller-instanceid';
export const DEFAULT_INSTANCE_ID = 'activemonitor-workflows';

export const workflowResource = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  plural: 'workflows',
  kind: 'Workflow',
  namespaced: true,
} as const;

export type RunType = 'check' | 'remedy';

export interface Workflow extends KubeObject {
  spec: Record<string, unknown>;
  status?: { phase?: string; message?: string; startedAt?: string; finishedAt?: string };
}

export class InvalidWorkflowError extends Error {
  override name = 'InvalidWorkflowError';
}

const MAX_NAME = 63; // Argo puts the workflow name in pod labels

/** `<generateName><suffix>`, the prefix cut so the whole fits a label value. */
export function workflowName(hc: HealthCheck, block: WorkflowBlock, type: RunType, slot: Date): string {
  const prefix = block.generateName || `${hc.metadata.name}-${type === 'remedy' ? 'remedy-' : ''}`;
  const suffix = `${type === 'remedy' ? 'r' : ''}${Math.floor(slot.getTime() / 1000).toString(36)}`;
  return `${prefix.slice(0, MAX_NAME - suffix.length)}${suffix}`.toLowerCase();
}

export interface BuildOptions {
  hc: HealthCheck;
  block: WorkflowBlock;
  type: RunType;
  name: string;
  serviceAccount: string;
  timeoutSeconds: number;
  /** The workflow YAML (inline or fetched). */
  source: string;
  instanceId: string;
  /** The slot the run is for (RFC 3339); written to {@link SCHEDULED_AT_ANNOTATION}. */
  scheduledAt?: string;
}

export function buildWorkflow(o: BuildOptions): Workflow {
  let doc: unknown;
  try {
    doc = parse(o.source);
  } catch (err) {
    throw new InvalidWorkflowError(`${o.type} workflow source is not valid YAML: ${(err as Error).message}`);
  }
  if (!isRecord(doc) || !isRecord(doc.spec)) {
    throw new InvalidWorkflowError(`${o.type} workflow source has no spec`);
  }
  const meta = isRecord(doc.metadata) ? doc.metadata : {};
  const labels: Record<string, string> = { ...stringMap(meta.labels) };
  labels[INSTANCE_ID_LABEL] ??= o.instanceId;
  labels[HEALTHCHECK_UID_LABEL] = o.hc.metadata.uid as string;
  labels[RUN_TYPE_LABEL] = o.type;
  const annotations = {
    ...stringMap(meta.annotations),
    [HEALTHCHECK_ANNOTATION]: `${o.hc.metadata.namespace}/${o.hc.metadata.name}`,
    ...(o.scheduledAt ? { [SCHEDULED_AT_ANNOTATION]: o.scheduledAt } : {}),
  };
  const namespace = o.block.resource.namespace;
  const spec: Record<string, unknown> = { ...doc.spec, serviceAccountName: o.serviceAccount };
  spec.activeDeadlineSeconds ??= o.timeoutSeconds;
  spec.podGC ??= { strategy: 'OnPodCompletion' };
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      name: o.name,
      namespace,
      labels,
      annotations,
      ...(namespace === o.hc.metadata.namespace ? { ownerReferences: [controllerReference(o.hc)] } : {}),
    },
    spec,
  };
}

/** Argo phases after which a Workflow never changes. */
export function isFinished(wf: Workflow): boolean {
  const phase = wf.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Error';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> {
  if (!isRecord(v)) return {};
  return Object.fromEntries(Object.entries(v).map(([k, val]) => [k, String(val)]));
}
