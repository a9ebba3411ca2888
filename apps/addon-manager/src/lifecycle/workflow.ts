/**
 * Building the Argo Workflow of one lifecycle step from the addon's template, pure.
 *
 * - Parameters: the addon's package fields, namespace, cluster context and data are appended to
 *   `spec.arguments.parameters` (a template that declares one of them again is refused).
 * - Labels: `app.kubernetes.io/{name,part-of,version,managed-by}` on the Workflow and on every
 *   manifest inside it (`resource.manifest` and raw artifacts, multi-document YAML included), plus
 *   the identity labels of naming.ts and Argo's controller instance id.
 * - Defaults: `activeDeadlineSeconds` and `ttlStrategy.secondsAfterCompletion` when unset.
 * - Ownership: the Addon as controller owner.
 *
 * A template that does not parse, is not a Workflow, or clashes with an injected parameter yields a
 * message naming the field, never an exception.
 */
import { parseAllDocuments, stringify } from 'yaml';
import { type Addon, type AddonSpec, GROUP, VERSION } from '../api/addon.js';
import { type Workflow, type WorkflowParameter, Workflows } from '../api/workflow.js';
import {
  LABEL_ADDON_UID,
  LABEL_INSTANCE_ID,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  LABEL_PART_OF,
  LABEL_RUN,
  LABEL_SPEC_HASH,
  LABEL_STEP,
  LABEL_VERSION,
  labelValue,
  MANAGED_BY,
  type Step,
  workflowName,
} from './naming.js';

export interface WorkflowDefaults {
  /** `spec.activeDeadlineSeconds` when the template sets none (upstream: 300). */
  activeDeadlineSeconds: number;
  /** `spec.ttlStrategy.secondsAfterCompletion` when the template sets none (upstream: 72 h). */
  ttlSecondsAfterCompletion: number;
  /** Argo `instanceID` label value; empty: no label (a cluster-wide Argo without instance id). */
  instanceID: string;
}

export type ParsedTemplate = { ok: true; workflow: Workflow } | { ok: false; message: string };

/** Parses a step's template; the message names the field and what is wrong. */
export function parseTemplate(step: string, text: string): ParsedTemplate {
  const field = `spec.lifecycle.${step}.template`;
  const docs = parseAllDocuments(text);
  if (Array.isArray(docs) === false || docs.length !== 1) {
    return { ok: false, message: `${field}: must hold exactly one YAML document` };
  }
  const doc = docs[0]!;
  if (doc.errors.length > 0)
    return { ok: false, message: `${field}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}` };
  const obj = doc.toJS() as Record<string, unknown> | null;
  if (!obj || typeof obj !== 'object' || Array.isArray(obj))
    return { ok: false, message: `${field}: must be a YAML object` };
  if (obj.apiVersion !== 'argoproj.io/v1alpha1' || obj.kind !== 'Workflow') {
    return {
      ok: false,
      message: `${field}: must be an argoproj.io/v1alpha1 Workflow (got ${String(obj.apiVersion)} ${String(obj.kind)})`,
    };
  }
  const spec = obj.spec as Record<string, unknown> | undefined;
  if (!spec || typeof spec !== 'object' || Array.isArray(spec))
    return { ok: false, message: `${field}: has no spec` };
  const templates = spec.templates;
  if (templates !== undefined && !Array.isArray(templates))
    return { ok: false, message: `${field}: spec.templates must be a list` };
  const args = spec.arguments as { parameters?: unknown } | undefined;
  if (args?.parameters !== undefined && !Array.isArray(args.parameters)) {
    return { ok: false, message: `${field}: spec.arguments.parameters must be a list` };
  }
  return { ok: true, workflow: obj as unknown as Workflow };
}

/** The global parameters every workflow of the addon receives, in upstream's order. */
export function injectedParameters(spec: AddonSpec): WorkflowParameter[] {
  const out: WorkflowParameter[] = [{ name: 'namespace', value: spec.params.namespace }];
  const pkg: [string, string | undefined][] = [
    ['pkgChannel', spec.pkgChannel],
    ['pkgName', spec.pkgName],
    ['pkgVersion', spec.pkgVersion],
    ['pkgType', spec.pkgType],
    ['pkgDescription', spec.pkgDescription],
  ];
  for (const [name, value] of pkg) if (value !== undefined) out.push({ name, value });
  const ctx = spec.params.context;
  if (ctx?.clusterName !== undefined) out.push({ name: 'clusterName', value: ctx.clusterName });
  if (ctx?.clusterRegion !== undefined) out.push({ name: 'clusterRegion', value: ctx.clusterRegion });
  for (const map of [ctx?.additionalConfigs, spec.params.data]) {
    for (const [name, value] of Object.entries(map ?? {})) out.push({ name, value: String(value) });
  }
  return out;
}

/** Every problem of the addon's templates (none: an empty list); each message names the field. */
export function validateTemplates(spec: AddonSpec): string[] {
  const problems: string[] = [];
  const injected = injectedParameters(spec).map((p) => p.name);
  const seen = new Set<string>();
  for (const name of injected) {
    if (seen.has(name))
      problems.push(`spec.params: parameter ${name} is defined twice (context.additionalConfigs and data)`);
    seen.add(name);
  }
  for (const step of ['prereqs', 'install', 'delete', 'validate'] as const) {
    const text = spec.lifecycle?.[step]?.template;
    if (!text?.trim()) continue;
    const parsed = parseTemplate(step, text);
    if (!parsed.ok) {
      problems.push(parsed.message);
      continue;
    }
    for (const p of parsed.workflow.spec.arguments?.parameters ?? []) {
      if (injected.includes(p.name)) {
        problems.push(
          `spec.lifecycle.${step}.template: parameter ${p.name} clashes with the addon parameter of that name`,
        );
      }
    }
  }
  return problems;
}

/** The labels every object the addon creates carries. */
export function addonLabels(addon: Addon): Record<string, string> {
  const name = labelValue(addon.metadata.name!);
  return {
    [LABEL_NAME]: name,
    [LABEL_PART_OF]: name,
    [LABEL_VERSION]: labelValue(addon.spec.pkgVersion.replace(/[^A-Za-z0-9._-]/g, '_')),
    [LABEL_MANAGED_BY]: MANAGED_BY,
  };
}

/** Adds `labels` to every document of a multi-document manifest; text that is not YAML is kept as is. */
export function labelManifests(text: string, labels: Record<string, string>): string {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return text;
  const out: string[] = [];
  for (const doc of docs) {
    const obj = doc.toJS() as { metadata?: { labels?: Record<string, string> } } | null;
    if (!obj || typeof obj !== 'object') continue;
    obj.metadata = { ...obj.metadata, labels: { ...obj.metadata?.labels, ...labels } };
    out.push(stringify(obj).trimEnd());
  }
  return out.length > 0 ? `${out.join('\n---\n')}\n` : text;
}

export interface BuildInput {
  addon: Addon;
  step: Step;
  template: string;
  namePrefix?: string;
  specHash: string;
  run: string;
  defaults: WorkflowDefaults;
}

/** The Workflow to create for one step; throws only on a template validateTemplates refused. */
export function buildWorkflow(input: BuildInput): Workflow {
  const parsed = parseTemplate(input.step, input.template);
  if (!parsed.ok) throw new Error(parsed.message);
  const wf = structuredClone(parsed.workflow);
  const { addon } = input;
  const labels = addonLabels(addon);
  const spec = wf.spec;
  spec.arguments = {
    ...spec.arguments,
    parameters: [...(spec.arguments?.parameters ?? []), ...injectedParameters(addon.spec)],
  };
  for (const art of spec.arguments.artifacts ?? []) {
    if (typeof art.raw?.data === 'string') art.raw.data = labelManifests(art.raw.data, labels);
  }
  for (const t of spec.templates ?? []) {
    if (typeof t.resource?.manifest === 'string')
      t.resource.manifest = labelManifests(t.resource.manifest, labels);
  }
  if (spec.activeDeadlineSeconds === undefined)
    spec.activeDeadlineSeconds = input.defaults.activeDeadlineSeconds;
  if (spec.ttlStrategy?.secondsAfterCompletion === undefined) {
    spec.ttlStrategy = {
      ...spec.ttlStrategy,
      secondsAfterCompletion: input.defaults.ttlSecondsAfterCompletion,
    };
  }
  return {
    apiVersion: `${Workflows.group}/${Workflows.version}`,
    kind: 'Workflow',
    metadata: {
      name: workflowName(addon.metadata.name!, input.step, input.run, input.namePrefix),
      namespace: addon.metadata.namespace,
      labels: {
        ...wf.metadata?.labels,
        ...labels,
        [LABEL_ADDON_UID]: addon.metadata.uid!,
        [LABEL_STEP]: input.step,
        [LABEL_SPEC_HASH]: input.specHash,
        [LABEL_RUN]: input.run,
        ...(input.defaults.instanceID ? { [LABEL_INSTANCE_ID]: input.defaults.instanceID } : {}),
      },
      ...(wf.metadata?.annotations ? { annotations: wf.metadata.annotations } : {}),
      ownerReferences: [
        {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'Addon',
          name: addon.metadata.name!,
          uid: addon.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
}
