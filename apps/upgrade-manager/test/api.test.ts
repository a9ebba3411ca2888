/**
 * The CRD on the real API server: an upstream-style RollingUpgrade applies unchanged, and bad input is
 * refused at admission with a message naming the field.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { KubeClient } from '@keiko/operator-kit';
import {
  applyManifests,
  createTestNamespace,
  deleteTestNamespace,
  installCrds,
  parseManifests,
  testKubeConfig,
} from '@keiko/testkit';
import { type RollingUpgrade, RollingUpgrades } from '../src/api/rollingupgrade.js';
import { CRD_DIR } from './support.js';

let client: KubeClient;
let namespace: string;
beforeAll(async () => {
  await installCrds(testKubeConfig(), CRD_DIR);
  client = await KubeClient.fromKubeConfig(testKubeConfig(), 'upgrade-manager-test');
  namespace = await createTestNamespace(testKubeConfig(), 'ru-api');
});
afterAll(async () => {
  await deleteTestNamespace(testKubeConfig(), namespace);
  client.transport.close();
});

// The sample from upstream's notes, as users write it (hooks, readiness gates, eager mode, "20%").
const UPSTREAM_SAMPLE = `
apiVersion: upgrademgr.keikoproj.io/v1alpha1
kind: RollingUpgrade
metadata:
  name: workers-us-east-1-roll-0042
spec:
  asgName: prod-workers-us-east-1
  nodeIntervalSeconds: 60
  postDrainDelaySeconds: 30
  ignoreDrainFailures: false
  forceRefresh: false
  readinessGates:
    - matchLabels:
        node.example.com/bootstrapped: "true"
  preDrain:
    script: echo "about to drain $INSTANCE_NAME ($INSTANCE_ID) of $ASG_NAME"
  postDrain:
    script: echo drained
    waitSeconds: 90
    postWaitScript: echo waited
  postTerminate:
    script: echo "terminated $INSTANCE_ID"
  strategy:
    type: uniformAcrossAzUpdate
    mode: eager
    maxUnavailable: "20%"
    drainTimeout: 600
`;

test('an upstream RollingUpgrade applies unchanged, every field kept', async () => {
  await applyManifests(testKubeConfig(), parseManifests(UPSTREAM_SAMPLE), { namespace });
  const ru = await client.get<RollingUpgrade>(RollingUpgrades, 'workers-us-east-1-roll-0042', namespace);
  expect(ru.spec).toEqual(parseManifests(UPSTREAM_SAMPLE)[0]!.spec);
});

const bad: [string, Record<string, unknown>, RegExp][] = [
  [
    'negative maxUnavailable',
    { asgName: 'a', strategy: { maxUnavailable: -1 } },
    /spec\.strategy\.maxUnavailable/,
  ],
  ['150%', { asgName: 'a', strategy: { maxUnavailable: '150%' } }, /spec\.strategy\.maxUnavailable/],
  [
    'a word as maxUnavailable',
    { asgName: 'a', strategy: { maxUnavailable: 'half' } },
    /spec\.strategy\.maxUnavailable/,
  ],
  [
    'unknown strategy',
    { asgName: 'a', strategy: { type: 'fastUpdate' } },
    /spec\.strategy\.type.*Unsupported value: "fastUpdate"/,
  ],
  ['unknown mode', { asgName: 'a', strategy: { mode: 'eagre' } }, /spec\.strategy\.mode/],
  ['missing asgName', { strategy: { mode: 'lazy' } }, /spec\.asgName: Required value/],
  ['empty asgName', { asgName: '' }, /spec\.asgName/],
  ['drainTimeout below -1', { asgName: 'a', strategy: { drainTimeout: -5 } }, /spec\.strategy\.drainTimeout/],
];
test.each(bad)('refused at admission: %s', async (_name, spec, message) => {
  const create = client.create(RollingUpgrades, {
    apiVersion: 'upgrademgr.keikoproj.io/v1alpha1',
    kind: 'RollingUpgrade',
    metadata: { generateName: 'bad-', namespace },
    spec,
  });
  await expect(create).rejects.toThrow(message);
});

test.each([[0], [3], ['3'], ['1%'], ['100%']])('maxUnavailable %p is accepted', async (maxUnavailable) => {
  await client.create(RollingUpgrades, {
    apiVersion: 'upgrademgr.keikoproj.io/v1alpha1',
    kind: 'RollingUpgrade',
    metadata: { generateName: 'ok-', namespace },
    spec: { asgName: 'a', strategy: { maxUnavailable } },
  });
});
