/**
 * e2e: the built controller (dist/main.js) as a child process, authenticated as the chart's
 * ServiceAccount with exactly the chart's RBAC (testkit chartIdentity), against the jest run's
 * control plane and moto. An InstanceGroup (bring-your-own IAM role and profile) becomes Ready with
 * Nodes, the role lands in aws-auth (kube-system Role), deletion runs through the finalizer, and
 * SIGTERM stops the process cleanly. Any missing permission fails this test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CoreResources, type KubeObject } from '@keiko/operator-kit';
import { chartIdentity, createTestNamespace, testKubeConfig, uniqueName, waitFor } from '@keiko/testkit';
import { InstanceGroups } from '../src/api/instancegroup.js';
import {
  CHART_DIR,
  condition,
  type Env,
  groupNodes,
  instanceGroup,
  isReady,
  setupEnv,
  waitForState,
} from './support.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let env: Env;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  env = await setupEnv('im-proc');
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await env?.close();
});

test('the built controller under the chart RBAC', async () => {
  const kc = testKubeConfig();
  const releaseNamespace = await createTestNamespace(kc, 'im-release');
  const identity = await chartIdentity(kc, CHART_DIR, {
    releaseName: uniqueName('im'),
    namespace: releaseNamespace,
  });
  expect(identity.serviceAccount).toBe('instance-manager');

  const role = `byo-${env.account.clusterName}`;
  const created = await env.aws.iam.send(
    new CreateRoleCommand({
      RoleName: role,
      AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
    }),
  );
  await env.aws.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: role }));
  await env.aws.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: role, RoleName: role }));

  child = spawn(
    process.execPath,
    [
      MAIN,
      '--ops-port=0',
      '--leader-elect=true',
      `--config-namespace=${releaseNamespace}`,
      '--poll-period=1',
      '--log-level=info',
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        KUBECONFIG: identity.kubeconfigPath,
        POD_NAMESPACE: releaseNamespace,
        ...env.account.env(),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));

  await env.client.create(
    InstanceGroups,
    instanceGroup(env, 'e2e', { roleName: role, instanceProfileName: role }),
  );
  const ready = await waitForState(env, 'e2e', 'Ready', 60_000).catch((err) => {
    throw new Error(`${(err as Error).message}\ncontroller output:\n${output.slice(-4000)}`);
  });
  expect(condition(ready, 'Ready')?.status).toBe('True');
  expect(ready.status?.nodesInstanceRoleArn).toBe(created.Role!.Arn);
  const nodes = await groupNodes(env, 'e2e');
  expect(nodes.length).toBe(2);
  expect(nodes.every(isReady)).toBe(true);
  const awsAuth = await env.client.get<KubeObject & { data?: Record<string, string> }>(
    CoreResources.configMaps,
    'aws-auth',
    'kube-system',
  );
  expect(awsAuth.data?.mapRoles).toContain(created.Role!.Arn);
  const lease = await env.client.get(CoreResources.leases, 'instance-manager-leader', releaseNamespace);
  expect(lease.metadata.name).toBe('instance-manager-leader');

  await env.client.delete(InstanceGroups, 'e2e', env.namespace);
  await waitFor(async () => !(await env.client.getOrUndefined(InstanceGroups, 'e2e', env.namespace)), {
    description: 'the group deleted through its finalizer',
    timeoutMs: 60_000,
  });
  const afterDelete = await env.client.get<KubeObject & { data?: Record<string, string> }>(
    CoreResources.configMaps,
    'aws-auth',
    'kube-system',
  );
  expect(afterDelete.data?.mapRoles ?? '').not.toContain(created.Role!.Arn);

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  child = undefined;
  expect(output).not.toMatch(/forbidden/i);
});
