/**
 * The `crd` upgrade strategy's pure parts: rendering the user's templated custom resource (Go
 * template fields `{{ .InstanceGroup.Status.ActiveScalingGroupName }}` as upstream writes them,
 * resolved against the group's JSON), naming it per launch template version, reading its status
 * path, and deciding what the concurrency policy allows.
 */
import { parse } from 'yaml';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'instance-manager';
export const UPGRADE_SCOPE_ANNOTATION = 'instancemgr.keikoproj.io/upgrade-scope';
export const UPGRADE_SCOPE_LABEL = 'instancemgr.keikoproj.io/upgrade-scope';

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function lookup(root: Record<string, unknown>, path: string[]): unknown {
  let cur: unknown = root;
  for (const [i, seg] of path.entries()) {
    if (!cur || typeof cur !== 'object') return undefined;
    const obj = cur as Record<string, unknown>;
    if (i === 0 && seg === 'ObjectMeta') {
      cur = obj.metadata;
      continue;
    }
    if (i === 0 && !(seg in obj) && !(lowerFirst(seg) in obj)) {
      // Go's embedded ObjectMeta: .InstanceGroup.Name, .Namespace, .Annotations ...
      cur = (obj.metadata as Record<string, unknown> | undefined)?.[lowerFirst(seg)];
      continue;
    }
    cur = seg in obj ? obj[seg] : obj[lowerFirst(seg)];
  }
  return cur;
}

/** Substitutes `{{ .InstanceGroup.<Path> }}`; unknown paths render as Go renders a missing field ("<no value>"). */
export function renderTemplate(template: string, group: Record<string, unknown>): string {
  return template.replace(/\{\{-?\s*\.InstanceGroup((?:\.[A-Za-z0-9_-]+)*)\s*-?\}\}/g, (_m, path: string) => {
    const v = lookup(group, path.split('.').filter(Boolean));
    if (v === undefined || v === null) return '<no value>';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

export interface StrategyResource {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [k: string]: unknown;
}

/** The resource to create for launch template `templateId` version `version`. */
export function strategyResource(
  template: string,
  group: Record<string, unknown>,
  scope: string,
  templateId: string,
  version: string,
): StrategyResource {
  const obj = parse(renderTemplate(template, group)) as StrategyResource;
  if (!obj || typeof obj !== 'object' || !obj.apiVersion || !obj.kind || !obj.metadata?.name)
    throw new Error('strategy.crd.spec must render to an object with apiVersion, kind and metadata.name');
  let name = `${obj.metadata.name}-${templateId}-${version}`.toLowerCase();
  if (name.length > 63) name = `instancemgr-${templateId}-${version}`.toLowerCase();
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      name,
      namespace: obj.metadata.namespace ?? 'default',
      labels: {
        ...(obj.metadata.labels ?? {}),
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [UPGRADE_SCOPE_LABEL]: scope,
      },
      annotations: { ...(obj.metadata.annotations ?? {}), [UPGRADE_SCOPE_ANNOTATION]: scope },
    },
  };
}

/** `.status.currentStatus` or `{.status.currentStatus}` read from an object. */
export function readStatusPath(obj: unknown, jsonPath: string): string | undefined {
  const path = jsonPath
    .replace(/^\{|\}$/g, '')
    .split('.')
    .filter(Boolean);
  let cur = obj;
  for (const p of path) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur === undefined || cur === null ? undefined : String(cur);
}

export type StrategyOutcome = 'succeeded' | 'failed' | 'running';

export function outcomeOf(
  obj: unknown,
  s: { statusJSONPath: string; statusSuccessString: string; statusFailureString: string },
): StrategyOutcome {
  const v = readStatusPath(obj, s.statusJSONPath);
  if (v !== undefined && v.toLowerCase() === s.statusSuccessString.toLowerCase()) return 'succeeded';
  if (v !== undefined && v.toLowerCase() === s.statusFailureString.toLowerCase()) return 'failed';
  return 'running';
}

/**
 * What to do about other active resources of the same scope before creating ours:
 * forbid waits for them, replace deletes them, allow ignores them.
 */
export function concurrencyDecision(
  policy: string | undefined,
  othersActive: string[],
): { action: 'create' } | { action: 'wait'; reason: string } | { action: 'delete'; names: string[] } {
  const p = policy?.toLowerCase();
  if (othersActive.length === 0 || p === 'allow') return { action: 'create' };
  if (p === 'replace') return { action: 'delete', names: othersActive };
  return { action: 'wait', reason: `waiting for ${othersActive.join(', ')} (concurrencyPolicy forbid)` };
}
