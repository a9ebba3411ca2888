/**
 * Real Argo Workflows on the shared control plane: the pinned workflow-controller runs Workflow
 * objects, kwok finishes their pods (testkit's Argo stages), and the Workflows go through Argo's own
 * phases. This file starts Argo itself (packages opt in with `globals: { keikoArgo: true }` instead).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  ARGO_DELAY_ANNOTATION,
  ARGO_FAIL_ANNOTATION,
  ArgoWorkflows,
  createTestNamespace,
  deleteTestNamespace,
  processExists,
  testKubeConfig,
  waitFor,
} from '../src/index.js';
import { rawRequest } from '../src/raw.js';

interface Workflow {
  metadata: { name: string };
  status?: {
    phase?: string;
    message?: string;
    nodes?: Record<string, { type: string; phase: string; message?: string }>;
  };
}

let kc: KubeConfig;
let ns: string;
let argo: ArgoWorkflows;

beforeAll(async () => {
  kc = testKubeConfig();
  ns = await createTestNamespace(kc, 'argo');
  argo = await ArgoWorkflows.start({ kubeconfigPath: process.env.KUBECONFIG!, namespace: `${ns}-ctl` });
}, 90_000);

afterAll(async () => {
  await argo?.stop();
  await deleteTestNamespace(kc, ns);
  await deleteTestNamespace(kc, `${ns}-ctl`);
});

const wfPath = (name = '') =>
  `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflows${name ? `/${name}` : ''}`;

function workflow(name: string, annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { name },
    spec: {
      entrypoint: 'main',
      templates: [
        {
          name: 'main',
          steps: [[{ name: 'first', template: 'work' }], [{ name: 'second', template: 'work' }]],
        },
        {
          name: 'work',
          metadata: { annotations },
          container: { image: 'alpine:3', command: ['true'] },
        },
      ],
    },
  };
}

/** Polls the workflow until it completes, recording every phase seen on the way. */
async function followPhases(name: string): Promise<{ phases: string[]; wf: Workflow }> {
  const phases: string[] = [];
  const wf = await waitFor(
    async () => {
      const wf = (await rawRequest(kc, 'GET', wfPath(name))) as Workflow;
      const phase = wf.status?.phase ?? '';
      if (phase && phases.at(-1) !== phase) phases.push(phase);
      return ['Succeeded', 'Failed', 'Error'].includes(phase) ? wf : undefined;
    },
    {
      description: `workflow ${name} to complete (controller log ${argo.logFile()})`,
      timeoutMs: 60_000,
      intervalMs: 50,
    },
  );
  return { phases, wf };
}

describe('Argo Workflows in testkit', () => {
  it('a two-step workflow runs both pods and goes Running -> Succeeded', async () => {
    await rawRequest(kc, 'POST', wfPath(), workflow('ok', { [ARGO_DELAY_ANNOTATION]: '1s' }));
    const { phases, wf } = await followPhases('ok');
    expect(phases).toEqual(['Running', 'Succeeded']);
    const pods = Object.values(wf.status!.nodes!).filter((n) => n.type === 'Pod');
    expect(pods).toHaveLength(2);
    expect(pods.every((n) => n.phase === 'Succeeded')).toBe(true);
    // The pods really ran on the Argo worker node, as kwok simulated them.
    const podList = (await rawRequest(
      kc,
      'GET',
      `/api/v1/namespaces/${ns}/pods?labelSelector=workflows.argoproj.io/workflow%3Dok`,
    )) as {
      items: { spec: { nodeName?: string }; status: { phase: string } }[];
    };
    expect(podList.items.map((p) => [p.spec.nodeName, p.status.phase])).toEqual([
      [argo.workerNode, 'Succeeded'],
      [argo.workerNode, 'Succeeded'],
    ]);
  });

  it('a template annotated to fail makes the workflow Failed with that message', async () => {
    await rawRequest(kc, 'POST', wfPath(), workflow('broken', { [ARGO_FAIL_ANNOTATION]: 'disk full' }));
    const { phases, wf } = await followPhases('broken');
    expect(phases.at(-1)).toBe('Failed');
    expect(phases[0]).toBe('Running');
    const failedPod = Object.values(wf.status!.nodes!).find((n) => n.type === 'Pod');
    expect(failedPod).toMatchObject({ phase: 'Failed', message: 'disk full' });
    // Only the first step ran: a failed step stops the sequence.
    expect(Object.values(wf.status!.nodes!).filter((n) => n.type === 'Pod')).toHaveLength(1);
    // Argo's own summary for a steps template names the failed child; the pod node has the message.
    expect(wf.status!.message).toMatch(/^child '.+' failed$/);
  });

  it('stop() leaves no Argo process behind', async () => {
    const other = await ArgoWorkflows.start({
      kubeconfigPath: process.env.KUBECONFIG!,
      namespace: `${ns}-ctl`,
      instanceID: 'lifecycle-check',
      workerNode: 'keiko-argo-worker-2',
    });
    const pids = Object.values(other.pids());
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(processExists(pid)).toBe(true);
    await other.stop();
    for (const pid of pids) expect(processExists(pid)).toBe(false);
    expect(existsSync(other.workDir)).toBe(false);
    await rawRequest(kc, 'DELETE', '/api/v1/nodes/keiko-argo-worker-2');
  }, 90_000);
});
