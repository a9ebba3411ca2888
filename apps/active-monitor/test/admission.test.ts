/** The CRD at admission: upstream manifests apply unchanged, bad input is refused naming the field. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { parse } from 'yaml';
import { type HealthCheck, healthCheckResource } from '../src/api/healthcheck.js';
import { closeClients, setup } from './support.js';

let client: KubeClient;
let namespace: string;
beforeAll(async () => {
  ({ client, namespace } = await setup('am-admission'));
});

/** Upstream's style of sample (README / examples), unchanged apart from the namespace. */
const UPSTREAM_SAMPLE = `
apiVersion: activemonitor.keikoproj.io/v1alpha1
kind: HealthCheck
metadata:
  name: coredns-probe
spec:
  description: "resolve an in-cluster name every 2 minutes"
  repeatAfterSec: 120
  level: namespace
  backoffFactor: "0.5"
  backoffMax: 30
  backoffMin: 2
  workflow:
    generateName: coredns-probe-
    workflowtimeout: 60
    resource:
      namespace: health
      serviceAccount: coredns-probe-sa
      source:
        inline: |
          apiVersion: argoproj.io/v1alpha1
          kind: Workflow
          metadata:
            labels:
              workflows.argoproj.io/controller-instanceid: activemonitor-workflows
          spec:
            entrypoint: main
            templates:
            - name: main
              container:
                image: busybox:1.36
                command: [nslookup, kubernetes.default.svc.cluster.local]
    rbacRules:
    - apiGroups: [""]
      resources: [pods]
      verbs: [get, list]
  remedyRunsLimit: 2
  remedyResetInterval: 1800
  remedyworkflow:
    generateName: coredns-restart-
    resource:
      namespace: kube-system
      serviceAccount: coredns-remedy-sa
      source:
        url:
          path: https://example.internal/remedies/restart-coredns.yaml
          verifyCert: true
`;

// biome-ignore lint/suspicious/noExplicitAny: patches reach into an untyped manifest
type Loose = any;

function sample(name: string, patch: (spec: Loose) => void): HealthCheck {
  const hc = parse(UPSTREAM_SAMPLE) as HealthCheck;
  hc.metadata = { name, namespace };
  patch(hc.spec as Loose);
  return hc;
}

afterAll(closeClients);

describe('HealthCheck admission', () => {
  it('accepts the upstream sample unchanged, keeping workflowtimeout and every field', async () => {
    const created = await client.create(
      healthCheckResource,
      sample('upstream', () => {}),
    );
    expect(created.spec.workflow.workflowtimeout).toBe(60);
    expect(created.spec.remedyworkflow?.resource.source.url).toEqual({
      path: 'https://example.internal/remedies/restart-coredns.yaml',
      verifyCert: true,
    });
    expect(created.spec.backoffFactor).toBe('0.5');
    const cron = await client.create(
      healthCheckResource,
      sample('cron', (s) => {
        delete s.repeatAfterSec;
        s.schedule = { cron: '@every 5m' };
      }),
    );
    expect(cron.spec.schedule?.cron).toBe('@every 5m');
  });

  it.each<[string, (s: Loose) => void, RegExp]>([
    ['level not in the enum', (s) => (s.level = 'Cluster'), /spec\.level: Unsupported value: "Cluster"/],
    ['level missing', (s) => delete s.level, /spec\.level: Required value/],
    [
      'two sources',
      (s) => (s.workflow.resource.source.url = { path: 'https://x/y.yaml' }),
      /spec\.workflow\.resource\.source: Invalid value.*exactly one of source.inline, source.url, source.file/,
    ],
    ['no source', (s) => (s.workflow.resource.source = {}), /exactly one of source\.inline/],
    [
      'negative interval',
      (s) => (s.repeatAfterSec = -5),
      /spec\.repeatAfterSec: Invalid value: -5: .*greater than or equal to 0/,
    ],
    [
      'zero timeout',
      (s) => (s.workflow.workflowtimeout = 0),
      /spec\.workflow\.workflowtimeout: Invalid value: 0/,
    ],
    ['negative remedy limit', (s) => (s.remedyRunsLimit = -1), /spec\.remedyRunsLimit: Invalid value/],
    [
      'cron that is not cron',
      (s) => {
        s.repeatAfterSec = 0;
        s.schedule = { cron: 'every minute' };
      },
      /spec\.schedule\.cron: Invalid value: "every minute"/,
    ],
    [
      'interval and cron together',
      (s) => (s.schedule = { cron: '*/5 * * * *' }),
      /spec\.repeatAfterSec: Invalid value.*either repeatAfterSec or schedule\.cron/,
    ],
    [
      'non-http url',
      (s) => (s.remedyworkflow.resource.source.url.path = 'file:///etc/passwd'),
      /spec\.remedyworkflow\.resource\.source\.url\.path: Invalid value/,
    ],
  ])('refuses %s', async (_name, patch, message) => {
    await expect(client.create(healthCheckResource, sample('bad', patch))).rejects.toThrow(message);
  });
});
