/**
 * The RBAC a HealthCheck's workflows run under (pure): a ServiceAccount, and a Role + RoleBinding
 * (`level: namespace`, in the workflow's namespace) or a ClusterRole + ClusterRoleBinding (`level:
 * cluster`), named after the HealthCheck (not the ServiceAccount, so two checks sharing an SA never
 * share or overwrite rules). Check and remedy each get their own. Every object carries the
 * HealthCheck's uid label, which is how cleanup finds them.
 */
import type { KubeObject } from '@keiko/operator-kit';
import type { HealthCheck, PolicyRule } from '../api/healthcheck.js';
import { HEALTHCHECK_UID_LABEL, type RunType } from '../workflow/build.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'active-monitor';

const rbac = (plural: string, kind: string, namespaced: boolean) =>
  ({ group: 'rbac.authorization.k8s.io', version: 'v1', plural, kind, namespaced }) as const;
export const RbacResources = {
  roles: rbac('roles', 'Role', true),
  roleBindings: rbac('rolebindings', 'RoleBinding', true),
  clusterRoles: rbac('clusterroles', 'ClusterRole', false),
  clusterRoleBindings: rbac('clusterrolebindings', 'ClusterRoleBinding', false),
  serviceAccounts: {
    group: '',
    version: 'v1',
    plural: 'serviceaccounts',
    kind: 'ServiceAccount',
    namespaced: true,
  },
} as const;

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete'];

/** Upstream's least-privilege defaults (keikoproj/active-monitor#331): read-only for checks. */
export const DEFAULT_CHECK_RULES: PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['pods', 'nodes', 'events', 'services', 'configmaps', 'namespaces', 'endpoints'],
    verbs: READ,
  },
  {
    apiGroups: ['apps'],
    resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'],
    verbs: READ,
  },
  { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: READ },
];

/** Remedies may also change what they repair. */
export const DEFAULT_REMEDY_RULES: PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['pods', 'events', 'services', 'configmaps', 'endpoints'],
    verbs: [...READ, ...WRITE],
  },
  {
    apiGroups: ['apps'],
    resources: ['deployments', 'replicasets', 'statefulsets'],
    verbs: [...READ, ...WRITE],
  },
  { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: READ },
];

export interface RbacPlan {
  serviceAccount: KubeObject;
  role: KubeObject;
  binding: KubeObject;
  roleResource: (typeof RbacResources)['roles' | 'clusterRoles'];
  bindingResource: (typeof RbacResources)['roleBindings' | 'clusterRoleBindings'];
}

/** The ServiceAccount a run uses: the block's, else `<hc>-<type>`; a remedy sharing the check's gets `-remedy` (upstream). */
export function serviceAccountFor(hc: HealthCheck, type: RunType): string {
  const check = hc.spec.workflow.resource.serviceAccount || `${hc.metadata.name}-check`;
  if (type === 'check') return check;
  const remedy = hc.spec.remedyworkflow?.resource.serviceAccount || `${hc.metadata.name}-remedy`;
  return remedy === check ? `${remedy}-remedy` : remedy;
}

export function rbacPlan(hc: HealthCheck, type: RunType): RbacPlan {
  const block = type === 'check' ? hc.spec.workflow : hc.spec.remedyworkflow;
  if (!block) throw new Error(`HealthCheck has no ${type} workflow`);
  const namespace = block.resource.namespace;
  const sa = serviceAccountFor(hc, type);
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY, [HEALTHCHECK_UID_LABEL]: hc.metadata.uid as string };
  const cluster = hc.spec.level === 'cluster';
  const base = cluster
    ? `activemonitor-${hc.metadata.namespace}-${hc.metadata.name}`
    : `activemonitor-${hc.metadata.name}`;
  const name = (type === 'remedy' ? `${base}-remedy` : base).slice(0, 253);
  const rules = block.rbacRules?.length
    ? block.rbacRules
    : type === 'check'
      ? DEFAULT_CHECK_RULES
      : DEFAULT_REMEDY_RULES;
  const roleKind = cluster ? 'ClusterRole' : 'Role';
  const meta = cluster ? { name, labels } : { name, namespace, labels };
  return {
    serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace, labels } },
    role: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: roleKind, metadata: meta, rules },
    binding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: cluster ? 'ClusterRoleBinding' : 'RoleBinding',
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
    },
    roleResource: cluster ? RbacResources.clusterRoles : RbacResources.roles,
    bindingResource: cluster ? RbacResources.clusterRoleBindings : RbacResources.roleBindings,
  };
}
