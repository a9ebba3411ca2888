/**
 * The node role's mapping in `kube-system/aws-auth` (`mapRoles`).
 *
 * Safety rules (upstream #26, #299): an entry is added only when no entry for the role exists, and
 * the groups that need it are recorded in an annotation on the ConfigMap; an entry is removed only
 * when this controller added it and no other group still needs it. Entries someone else wrote are
 * never changed or removed. Writes are serialised in the process and guarded by resourceVersion, so
 * concurrent reconciles (or other writers) never lose an update: a conflict is re-read and retried.
 */
import { CoreResources, isConflict, isNotFound, type KubeClient, type KubeObject } from '@keiko/operator-kit';
import { parse, stringify } from 'yaml';

export const AWS_AUTH_NAMESPACE = 'kube-system';
export const AWS_AUTH_NAME = 'aws-auth';
/** `{ roleArn: ["namespace/name", ...] }`: the entries this controller added and who needs them. */
export const OWNED_ROLES_ANNOTATION = 'instancemgr.keikoproj.io/owned-role-arns';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

interface RoleMapping {
  rolearn: string;
  username?: string;
  groups?: string[];
  [k: string]: unknown;
}

/** One queue for every aws-auth write of the process. */
let chain: Promise<unknown> = Promise.resolve();
function serialised<T>(fn: () => Promise<T>): Promise<T> {
  const next = chain.then(fn, fn);
  chain = next.catch(() => undefined);
  return next;
}

export function nodeRoleMapping(roleArn: string, windows = false): RoleMapping {
  return {
    rolearn: roleArn,
    username: 'system:node:{{EC2PrivateDNSName}}',
    groups: ['system:bootstrappers', 'system:nodes', ...(windows ? ['eks:kube-proxy-windows'] : [])],
  };
}

/**
 * `kube-system/aws-auth` holds a `mapRoles` this controller cannot read. It is left as it is (a
 * rewrite would drop whatever the author meant); the group reports it by name until someone fixes it.
 */
export class AwsAuthInvalidError extends Error {
  readonly reason = 'AwsAuthInvalid';
}

function parseMapRoles(yaml: string | undefined): RoleMapping[] {
  if (!yaml?.trim()) return [];
  let value: unknown;
  try {
    value = parse(yaml);
  } catch (err) {
    throw new AwsAuthInvalidError(
      `${AWS_AUTH_NAMESPACE}/${AWS_AUTH_NAME} data.mapRoles is not valid YAML, left unchanged: ${(err as Error).message}`,
    );
  }
  if (value == null) return [];
  if (!Array.isArray(value) || value.some((m) => typeof m !== 'object' || m === null || Array.isArray(m))) {
    throw new AwsAuthInvalidError(
      `${AWS_AUTH_NAMESPACE}/${AWS_AUTH_NAME} data.mapRoles must be a YAML list of role mappings, left unchanged`,
    );
  }
  return value as RoleMapping[];
}

/** Pure: the new data and ownership after `group` needs (or stops needing) `roleArn`. */
export function planAwsAuth(
  mapRolesYaml: string | undefined,
  owned: Record<string, string[]>,
  change: { group: string; roleArn: string; present: boolean; windows?: boolean },
): { mapRoles: RoleMapping[]; owned: Record<string, string[]>; changed: boolean } {
  const mapRoles = parseMapRoles(mapRolesYaml);
  const next = { ...owned };
  const users = new Set(next[change.roleArn] ?? []);
  const exists = mapRoles.some((m) => m.rolearn === change.roleArn);
  let changed = false;
  if (change.present) {
    if (!exists) {
      mapRoles.push(nodeRoleMapping(change.roleArn, change.windows));
      changed = true;
      users.add(change.group);
    } else if (change.roleArn in next && !users.has(change.group)) {
      users.add(change.group);
      changed = true;
    }
    if (change.roleArn in next || users.size) next[change.roleArn] = [...users].sort();
  } else if (change.roleArn in next) {
    if (users.delete(change.group)) changed = true;
    if (users.size === 0) {
      delete next[change.roleArn];
      const i = mapRoles.findIndex((m) => m.rolearn === change.roleArn);
      if (i >= 0) mapRoles.splice(i, 1);
      changed = true;
    } else next[change.roleArn] = [...users].sort();
  }
  return { mapRoles, owned: next, changed };
}

/** Makes sure (present) or no longer needs (absent) `group`'s mapping of `roleArn`. */
export function syncAwsAuth(
  client: KubeClient,
  change: { group: string; roleArn: string; present: boolean; windows?: boolean },
): Promise<boolean> {
  return serialised(async () => {
    for (let attempt = 0; ; attempt++) {
      const cm = await client.getOrUndefined<ConfigMap>(
        CoreResources.configMaps,
        AWS_AUTH_NAME,
        AWS_AUTH_NAMESPACE,
      );
      if (!cm && !change.present) return false;
      const owned = JSON.parse(cm?.metadata.annotations?.[OWNED_ROLES_ANNOTATION] ?? '{}') as Record<
        string,
        string[]
      >;
      const plan = planAwsAuth(cm?.data?.mapRoles, owned, change);
      if (!plan.changed) return false;
      const body: ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          ...(cm?.metadata ?? { name: AWS_AUTH_NAME, namespace: AWS_AUTH_NAMESPACE }),
          annotations: {
            ...(cm?.metadata.annotations ?? {}),
            [OWNED_ROLES_ANNOTATION]: JSON.stringify(plan.owned),
          },
        },
        // No mappings left is written as an empty string rather than `[]`, so that tools which
        // append entries as text (not as YAML) still produce a valid list.
        data: { ...(cm?.data ?? {}), mapRoles: plan.mapRoles.length ? stringify(plan.mapRoles) : '' },
      };
      try {
        if (cm) await client.update(CoreResources.configMaps, body);
        else await client.create(CoreResources.configMaps, body);
        return true;
      } catch (err) {
        if ((isConflict(err) || isNotFound(err)) && attempt < 10) continue;
        throw err;
      }
    }
  });
}
