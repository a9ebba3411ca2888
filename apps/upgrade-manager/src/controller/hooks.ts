/**
 * Hooks as Kubernetes Jobs. Upstream ran `spec.preDrain.script`, `spec.postDrain.script`,
 * `spec.postDrain.postWaitScript` and `spec.postTerminate.script` with `sh -c` inside the controller;
 * here each runs as a Job in the hook namespace (`--hook-namespace`): the hook's `image` (default
 * `--hook-image`) with its `command`, else `sh -c <script>`, and the environment upstream gave
 * (`ASG_NAME`, `INSTANCE_ID`, `INSTANCE_NAME`) plus the hook's `env`.
 *
 * Restart-safe by construction: a Job's name is a pure function of (RollingUpgrade uid, instance,
 * hook), so a controller that dies after creating it finds the same Job again instead of starting a
 * second one; its outcome is read from the Job and recorded in status (`instances[].hooks`). A Job
 * that failed stays (for `kubectl logs`); deleting it makes the next pass run the hook again.
 */
import { createHash } from 'node:crypto';
import {
  CoreResources,
  isAlreadyExists,
  type KubeClient,
  type KubeObject,
  type Reflector,
  type Resource,
} from '@keiko/operator-kit';
import type { HookName, HookRecord, RollingUpgrade, RollingUpgradeSpec } from '../api/rollingupgrade.js';

export const Jobs: Resource = {
  group: 'batch',
  version: 'v1',
  plural: 'jobs',
  kind: 'Job',
  namespaced: true,
};

/** Label on every hook Job (the controller's Job informer selects on it). */
export const HOOK_LABEL = 'upgrademgr.keikoproj.io/hook';
/** Label: uid of the RollingUpgrade that owns the Job (the finalizer deletes by it). */
export const OWNER_UID_LABEL = 'upgrademgr.keikoproj.io/rollingupgrade-uid';
/** Annotation: `namespace/name` of the owning RollingUpgrade (Job events wake it). */
export const OWNER_ANNOTATION = 'upgrademgr.keikoproj.io/rollingupgrade';
/** spec.*.timeoutSeconds default. */
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 600;
/**
 * The Job's activeDeadlineSeconds makes the Job controller fail it at the timeout; this margin is for
 * a Job the Job controller never gets to (e.g. it cannot create pods): the controller gives up itself.
 */
const CONTROLLER_TIMEOUT_MARGIN_MS = 60_000;

export interface HookJob extends KubeObject {
  spec?: Record<string, unknown>;
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    succeeded?: number;
    failed?: number;
    startTime?: string;
  };
}

/** The Job informer's transform: metadata and status are all the runner reads. */
export function slimJob(job: HookJob): HookJob {
  const { managedFields: _, ...metadata } = job.metadata;
  return { apiVersion: job.apiVersion, kind: job.kind, metadata, status: job.status };
}

/** One hook as the spec configures it, resolved. */
export interface HookDefinition {
  name: HookName;
  image?: string;
  command: string[];
  env: { name: string; value: string }[];
  timeoutSeconds: number;
  ignoreFailure: boolean;
  serviceAccountName?: string;
  nodeSelector?: Record<string, string>;
}

type HookSpec = NonNullable<RollingUpgradeSpec['preDrain']>;

function definition(name: HookName, spec: HookSpec | undefined, script: string | undefined) {
  if (!spec) return undefined;
  const command =
    name !== 'postWait' && spec.command?.length ? spec.command : script ? ['sh', '-c', script] : undefined;
  if (!command) return undefined;
  return {
    name,
    image: spec.image,
    command,
    env: spec.env ?? [],
    timeoutSeconds: spec.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS,
    ignoreFailure: spec.ignoreFailure ?? false,
    serviceAccountName: spec.serviceAccountName,
    nodeSelector: spec.nodeSelector,
  } satisfies HookDefinition;
}

/**
 * The hooks that run at a point of an instance's replacement, in order: before the drain
 * (`preDrain`), after it (`postDrain`, then `postWait` from `postDrain.postWaitScript`, which runs in
 * the postDrain image), after the terminate call (`postTerminate`).
 */
export function hooksAt(spec: RollingUpgradeSpec, point: 'beforeDrain' | 'afterDrain' | 'afterTerminate') {
  const out: (HookDefinition | undefined)[] =
    point === 'beforeDrain'
      ? [definition('preDrain', spec.preDrain, spec.preDrain?.script)]
      : point === 'afterDrain'
        ? [
            definition('postDrain', spec.postDrain, spec.postDrain?.script),
            definition('postWait', spec.postDrain, spec.postDrain?.postWaitScript),
          ]
        : [definition('postTerminate', spec.postTerminate, spec.postTerminate?.script)];
  return out.filter((h): h is HookDefinition => h !== undefined);
}

/** `um-predrain-i-0abc…-1a2b3c4d`: readable, unique per (RollingUpgrade uid, instance, hook), under 63 characters. */
export function hookJobName(ruUid: string, instanceId: string, hook: HookName): string {
  const hash = createHash('sha256').update(`${ruUid}/${instanceId}/${hook}`).digest('hex').slice(0, 8);
  return `um-${hook.toLowerCase()}-${instanceId.toLowerCase().slice(0, 32)}-${hash}`;
}

export interface HookTarget {
  asgName: string;
  instanceId: string;
  nodeName?: string;
}

/** The Job manifest (pure). */
export function hookJob(
  ru: RollingUpgrade,
  hook: HookDefinition,
  target: HookTarget,
  namespace: string,
  defaultImage: string,
): HookJob {
  const fixed = [
    { name: 'ASG_NAME', value: target.asgName },
    { name: 'INSTANCE_ID', value: target.instanceId },
    { name: 'INSTANCE_NAME', value: target.nodeName ?? '' },
  ];
  const fixedNames = new Set(fixed.map((e) => e.name));
  const labels = {
    'app.kubernetes.io/managed-by': 'upgrade-manager',
    [HOOK_LABEL]: hook.name,
    [OWNER_UID_LABEL]: ru.metadata.uid ?? '',
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: hookJobName(ru.metadata.uid ?? '', target.instanceId, hook.name),
      namespace,
      labels,
      annotations: { [OWNER_ANNOTATION]: `${ru.metadata.namespace}/${ru.metadata.name}` },
      // Garbage-collected with the CR when they share a namespace; the finalizer deletes them otherwise.
      ...(ru.metadata.namespace === namespace && ru.metadata.uid
        ? {
            ownerReferences: [
              {
                apiVersion: ru.apiVersion ?? 'upgrademgr.keikoproj.io/v1alpha1',
                kind: 'RollingUpgrade',
                name: ru.metadata.name!,
                uid: ru.metadata.uid,
              },
            ],
          }
        : {}),
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: hook.timeoutSeconds,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(hook.serviceAccountName ? { serviceAccountName: hook.serviceAccountName } : {}),
          ...(hook.nodeSelector ? { nodeSelector: hook.nodeSelector } : {}),
          containers: [
            {
              name: 'hook',
              image: hook.image ?? defaultImage,
              command: hook.command,
              env: [...hook.env.filter((e) => !fixedNames.has(e.name)), ...fixed],
            },
          ],
        },
      },
    },
  };
}

type Terminated = { exitCode: number; reason?: string };
interface HookPod extends KubeObject {
  status?: {
    containerStatuses?: {
      name: string;
      state?: { terminated?: Terminated };
      lastState?: { terminated?: Terminated };
    }[];
  };
}

export type HookOutcome =
  | { result: 'Running' }
  | { result: 'Succeeded' }
  | { result: 'Failed'; message: string };

/** What a Job's status says (pure). */
export function jobOutcome(job: HookJob, now: Date, timeoutSeconds: number): HookOutcome {
  const cond = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
  if (cond('Complete') || (job.status?.succeeded ?? 0) > 0) return { result: 'Succeeded' };
  const failed = cond('Failed');
  if (failed) {
    const why = failed.reason === 'DeadlineExceeded' ? `timed out after ${timeoutSeconds}s` : failed.reason;
    return { result: 'Failed', message: `${why ?? 'failed'}${failed.message ? `: ${failed.message}` : ''}` };
  }
  const created = Date.parse(job.metadata.creationTimestamp ?? '');
  if (created && now.getTime() - created > timeoutSeconds * 1000 + CONTROLLER_TIMEOUT_MARGIN_MS)
    return { result: 'Failed', message: `timed out after ${timeoutSeconds}s (the Job never finished)` };
  return { result: 'Running' };
}

/** Runs hooks as Jobs: each call moves a hook on as far as it can without waiting. */
export class HookRunner {
  constructor(
    private readonly client: KubeClient,
    private readonly jobs: Reflector<HookJob>,
    private readonly namespace: string,
    private readonly defaultImage: string,
  ) {}

  /**
   * Advances `hooks` in order for one instance. `records` is the instance's `status.instances[].hooks`
   * (updated in place). `state` is `done` when every hook succeeded (or failed with ignoreFailure),
   * `running` while one runs, `failed` at the first failure; `ignored` lists failures ignored in this
   * call (to report once).
   */
  async advance(
    ru: RollingUpgrade,
    hooks: HookDefinition[],
    target: HookTarget,
    records: HookRecord[],
    now: Date,
  ): Promise<HookProgress> {
    const ignored: HookProgress['ignored'] = [];
    for (const hook of hooks) {
      const job = hookJobName(ru.metadata.uid ?? '', target.instanceId, hook.name);
      let record = records.find((r) => r.name === hook.name);
      if (record?.result === 'Succeeded' || record?.result === 'Ignored') continue;
      const outcome = jobOutcome(await this.ensure(ru, hook, target), now, hook.timeoutSeconds);
      if (!record) {
        record = { name: hook.name, job, result: 'Running' };
        records.push(record);
      }
      if (outcome.result === 'Running' || outcome.result === 'Succeeded') {
        record.result = outcome.result;
        delete record.message;
        if (outcome.result === 'Running') return { state: 'running', hook: hook.name, job, ignored };
        continue;
      }
      const firstTime = record.result !== 'Failed';
      // Once, when the failure is first seen: what the Job's pods exited with (kept in the record).
      if (firstTime || !record.message) record.message = await this.withExitCodes(outcome.message, job);
      const message = record.message;
      if (hook.ignoreFailure) {
        record.result = 'Ignored';
        ignored.push({ hook: hook.name, job, message });
        continue;
      }
      record.result = 'Failed';
      return { state: 'failed', hook: hook.name, job, message, firstTime, ignored };
    }
    return { state: 'done', ignored };
  }

  /** The hook's Job: from the cache, else created (or read, when another pass created it already). */
  private async ensure(ru: RollingUpgrade, hook: HookDefinition, target: HookTarget): Promise<HookJob> {
    const manifest = hookJob(ru, hook, target, this.namespace, this.defaultImage);
    const cached = this.jobs.store.get(`${this.namespace}/${manifest.metadata.name}`);
    if (cached) return cached;
    try {
      return await this.client.create<HookJob>(Jobs, manifest);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return this.client.get<HookJob>(Jobs, manifest.metadata.name!, this.namespace);
    }
  }

  /**
   * `message` plus the non-zero exit codes of the failed Job's containers (`; container hook exited
   * with code 1 (Error)`), read from its pods. The pods may be gone or unreadable (RBAC): then the
   * Job's own reason is all there is, and `message` is returned as it is.
   */
  private async withExitCodes(message: string, job: string): Promise<string> {
    try {
      const pods = await this.client.list<HookPod>(CoreResources.pods, {
        namespace: this.namespace,
        labelSelector: `job-name=${job}`,
      });
      const exits = new Set<string>();
      for (const pod of pods.items) {
        for (const c of pod.status?.containerStatuses ?? []) {
          const t = c.state?.terminated ?? c.lastState?.terminated;
          if (t && t.exitCode !== 0)
            exits.add(
              `container ${c.name} exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}`,
            );
        }
      }
      return exits.size > 0 ? `${message}; ${[...exits].slice(0, 3).join('; ')}` : message;
    } catch {
      return message;
    }
  }

  /** Deletes every hook Job of a RollingUpgrade (its pods with it). */
  async deleteAll(ru: RollingUpgrade): Promise<number> {
    const uid = ru.metadata.uid;
    if (!uid) return 0;
    const owned = this.jobs.store
      .list(this.namespace)
      .filter((j) => j.metadata.labels?.[OWNER_UID_LABEL] === uid);
    for (const j of owned) await this.client.delete(Jobs, j.metadata.name!, this.namespace);
    return owned.length;
  }
}

export type HookProgress = { ignored: { hook: HookName; job: string; message: string }[] } & (
  | { state: 'done' }
  | { state: 'running'; hook: HookName; job: string }
  /** `firstTime`: recorded as failed in this call (report it once). */
  | { state: 'failed'; hook: HookName; job: string; message: string; firstTime: boolean }
);
