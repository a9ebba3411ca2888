/**
 * The Addon reconciler: observe (the Addon fresh from the API, its workflows, its dependencies and
 * workloads from the informer caches), plan (lifecycle/plan.ts, pure), act (create or purge
 * workflows, the finalizer), then write status. It is the only writer of Addon status; Workflow,
 * Addon and workload events only enqueue Addons.
 *
 * Triggers: an Addon changes; a Workflow it owns changes; an Addon whose pkgName it depends on
 * changes phase or version (dependents wake up by fan-out, not by polling); a workload with the
 * managed-by label changes in an Addon's target namespace.
 */
import {
  AlreadyExistsError,
  addFinalizer,
  type Condition,
  type EventRecorder,
  type KubeClient,
  type Manager,
  removeFinalizer,
  setCondition,
} from '@keiko/operator-kit';
import type { Registry } from 'prom-client';
import { type Addon, type AddonStatus, Addons } from '../api/addon.js';
import { type Workflow, Workflows } from '../api/workflow.js';
import type { Config } from '../config.js';
import { addonConditions } from '../lifecycle/conditions.js';
import { type AddonNode, resolveDependencies } from '../lifecycle/dependencies.js';
import { canonicalJson, specHash } from '../lifecycle/hash.js';
import { type ResourceEntry, selectorMatches, type Workload } from '../lifecycle/health.js';
import { LABEL_ADDON_UID, LABEL_MANAGED_BY, LABEL_RUN, MANAGED_BY } from '../lifecycle/naming.js';
import { FINALIZER, planAddon } from '../lifecycle/plan.js';
import { buildWorkflow, validateTemplates } from '../lifecycle/workflow.js';
import { AddonMetrics } from './metrics.js';
import { observeResources, resourceSelector, SecretsResource, WORKLOAD_KINDS } from './resources.js';

export interface AddonControllerOptions {
  config: Config;
  registry: Registry;
  /** Clock (ms since epoch); tests may pass their own. */
  now?: () => number;
}

const BY_PKG = 'pkgName';
const BY_DEPENDENCY = 'dependsOn';
const BY_TARGET_NAMESPACE = 'targetNamespace';
const BY_ADDON_UID = 'addonUid';

/** Registers the Addon controller on `manager`; call `manager.start()` afterwards. */
export function addonController(manager: Manager, options: AddonControllerOptions) {
  const { config } = options;
  const now = options.now ?? Date.now;
  const managed = (ns: string | undefined) =>
    config.namespaces.length === 0 || config.namespaces.includes(ns ?? '');
  // One namespace: watch only it (a Role suffices). Several or all: watch cluster-wide and filter.
  const scope = config.namespaces.length === 1 ? { namespace: config.namespaces[0] } : {};
  const selector = { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`, ...scope };

  const controller = manager.controller<Addon>(Addons, {
    name: 'addon',
    workers: config.workers,
    informer: scope,
    reconcile: async ({ name, namespace }, ctx) => reconcileAddon(name, namespace!, ctx.client, ctx.recorder),
  });
  const addons = controller.primary;
  addons.store.addIndex(BY_PKG, (a) => (managed(a.metadata.namespace) ? [a.spec.pkgName] : []));
  addons.store.addIndex(BY_DEPENDENCY, (a) => Object.keys(a.spec.pkgDeps ?? {}));
  addons.store.addIndex(BY_TARGET_NAMESPACE, (a) => [a.spec.params.namespace]);
  const workflows = manager.informer<Workflow>(Workflows, selector);
  workflows.store.addIndex(BY_ADDON_UID, (w) => {
    const uid = w.metadata.labels?.[LABEL_ADDON_UID];
    return uid ? [uid] : [];
  });
  // Workloads live in each addon's params.namespace, anywhere in the cluster (upstream's cache only
  // saw its own namespace, so its status.resources stayed empty): cluster-wide, by the managed-by label.
  const workloads = WORKLOAD_KINDS.map((k) =>
    manager.informer<Workload>(k, { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` }),
  );
  const metrics = AddonMetrics.for(options.registry, () => addons.store.list());

  controller.owns(workflows);
  // Dependents wake up when a dependency's phase, version or presence changes.
  controller.watches(
    addons,
    (a) =>
      addons.store
        .byIndex(BY_DEPENDENCY, a.spec.pkgName)
        .filter((d) => d.metadata.uid !== a.metadata.uid)
        .map((d) => `${d.metadata.namespace}/${d.metadata.name}`),
    [
      (o, n) =>
        o.status?.lifecycle?.installed !== n.status?.lifecycle?.installed ||
        o.status?.checksum !== n.status?.checksum ||
        o.spec.pkgVersion !== n.spec.pkgVersion ||
        o.spec.pkgName !== n.spec.pkgName,
    ],
  );
  for (const informer of workloads) {
    controller.watches(informer, (w) =>
      addons.store
        .byIndex(BY_TARGET_NAMESPACE, w.metadata.namespace!)
        .filter((a) => selectorMatches(resourceSelector(a), w.metadata.labels))
        .map((a) => `${a.metadata.namespace}/${a.metadata.name}`),
    );
  }

  const toNode = (a: Addon): AddonNode => ({
    namespace: a.metadata.namespace!,
    name: a.metadata.name!,
    pkgName: a.spec.pkgName,
    pkgVersion: a.spec.pkgVersion,
    installed: a.status?.lifecycle?.installed,
    current: a.status?.checksum === specHash(a.spec),
    deps: a.spec.pkgDeps ?? {},
  });

  async function reconcileAddon(
    name: string,
    namespace: string,
    client: KubeClient,
    recorder: EventRecorder,
  ) {
    if (!managed(namespace)) return;
    // Fresh from the API: status decisions must not be taken on a cache that lags our own last write.
    let addon = await client.getOrUndefined<Addon>(Addons, name, namespace);
    if (!addon) return;
    const hash = specHash(addon.spec);
    const dependencies = resolveDependencies(toNode(addon), (pkg) =>
      addons.store.byIndex(BY_PKG, pkg).map(toNode),
    );
    const own = workflows.store.byIndex(BY_ADDON_UID, addon.metadata.uid!);
    const missingSecrets = await findMissingSecrets(client, addon);
    const plan = planAddon({
      addon,
      specHash: hash,
      templateProblems: validateTemplates(addon.spec),
      dependencies,
      workflows: own,
      missingSecrets,
      now: now(),
      installTimeoutMs: config.installTimeoutSeconds * 1000,
      deleteTimeoutMs: config.deleteTimeoutSeconds * 1000,
    });

    if (plan.addFinalizer) addon = await addFinalizer(client, Addons, addon, FINALIZER);
    if (plan.purgeOtherRuns) {
      for (const wf of own.filter((w) => w.metadata.labels?.[LABEL_RUN] !== plan.run)) {
        await client.delete(Workflows, wf.metadata.name!, namespace, { propagationPolicy: 'Background' });
      }
    }
    for (const step of plan.create) {
      const lifecycleStep = addon.spec.lifecycle![step]!;
      const wf = buildWorkflow({
        addon,
        step,
        template: lifecycleStep.template,
        namePrefix: lifecycleStep.namePrefix,
        specHash: hash,
        run: plan.run,
        defaults: {
          activeDeadlineSeconds: config.workflowActiveDeadlineSeconds,
          ttlSecondsAfterCompletion: config.workflowTtlSeconds,
          instanceID: config.workflowInstanceId,
        },
      });
      try {
        await client.create(Workflows, wf);
        metrics.workflowsCreated.inc({ step });
        await recorder.event(addon, {
          type: 'Normal',
          reason: 'Submitted',
          action: 'CreateWorkflow',
          note: `${step} workflow ${wf.metadata.name}`,
        });
      } catch (err) {
        // Created by an earlier reconcile (or process) whose status write did not land: same name, same run.
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
      plan.status.workflows = { ...plan.status.workflows, [step]: wf.metadata.name! };
    }

    const resources = addon.metadata.deletionTimestamp
      ? ((addon.status?.resources ?? []) as ResourceEntry[])
      : observeResources(addon, workloads);
    const status: AddonStatus = { ...plan.status, resources: resources.map((r) => ({ ...r })) };
    let conditions = status.conditions as Condition[] | undefined;
    for (const c of addonConditions(status, dependencies, resources)) {
      conditions = setCondition(conditions, c, addon.metadata.generation, new Date(now()));
    }
    status.conditions = conditions as AddonStatus['conditions'];
    if (canonicalJson(status) !== canonicalJson(addon.status ?? {})) {
      addon = await client.update<Addon>(Addons, { ...addon, status }, 'status');
    }
    for (const e of plan.events) await recorder.event(addon, { ...e, action: 'Reconcile' });
    if (plan.removeFinalizer) await removeFinalizer(client, Addons, addon, FINALIZER);
    return plan.requeueAfterMs !== undefined ? { requeueAfter: plan.requeueAfterMs } : undefined;
  }

  return controller;
}

async function findMissingSecrets(client: KubeClient, addon: Addon): Promise<string[]> {
  const installed = addon.status?.lifecycle?.installed;
  if (!addon.spec.secrets?.length || installed === 'Succeeded' || addon.metadata.deletionTimestamp) return [];
  const missing: string[] = [];
  for (const s of addon.spec.secrets) {
    const found = await client.getOrUndefined(SecretsResource, s.name, addon.spec.params.namespace);
    if (!found) missing.push(s.name);
  }
  return missing;
}
