/**
 * A generated CRD against the real API server (testkit's local control plane): it is accepted,
 * admission enforces its enum, bounds, required fields, int-or-string and CEL rule with messages
 * naming the field, the status subresource and printer columns work, and `kubectl explain` shows
 * the schema's descriptions.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiError,
  binaryPath,
  createTestNamespace,
  deleteTestNamespace,
  installCrds,
  rawRequest,
  testKubeConfig,
  waitFor,
} from '@keiko/testkit';
import type { KubeConfig } from '@kubernetes/client-node';
import { type Static, Type } from '@sinclair/typebox';
import {
  ageColumn,
  type CustomObject,
  defineCrd,
  IntOrString,
  StringEnum,
  toYaml,
  withValidations,
} from '../src/crd/index.js';

const GROUP = 'apiserver.crdtest.keiko.dev';
const PLURAL = 'gadgets';
const IMAGE_DESCRIPTION = 'Container image the gadget runs, e.g. registry.example/gadget:1.2.';

const GadgetSpec = withValidations(
  Type.Object(
    {
      image: Type.String({ description: IMAGE_DESCRIPTION, minLength: 1, maxLength: 253 }),
      size: Type.Optional(
        StringEnum(['small', 'medium', 'large'], {
          description: 'Size class of the gadget.',
          default: 'medium',
        }),
      ),
      replicas: Type.Optional(
        Type.Integer({ description: 'Number of copies to run.', minimum: 1, maximum: 10 }),
      ),
      minReplicas: Type.Optional(Type.Integer({ description: 'Lower bound when scaling.', minimum: 0 })),
      maxReplicas: Type.Optional(Type.Integer({ description: 'Upper bound when scaling.', minimum: 0 })),
      port: Type.Optional(IntOrString({ description: 'Port number or named port the gadget listens on.' })),
    },
    { description: 'Desired state of the gadget.' },
  ),
  {
    rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
    message: 'minReplicas must not exceed maxReplicas',
    fieldPath: '.minReplicas',
  },
);
const GadgetStatus = Type.Object(
  {
    phase: Type.Optional(StringEnum(['Pending', 'Running'], { description: 'Lifecycle phase.' })),
    readyReplicas: Type.Optional(Type.Integer({ description: 'Copies that are ready.', minimum: 0 })),
  },
  { description: 'Observed state of the gadget.' },
);
type Gadget = CustomObject<Static<typeof GadgetSpec>, Static<typeof GadgetStatus>>;

const gadgetCrd = defineCrd({
  group: GROUP,
  kind: 'Gadget',
  plural: PLURAL,
  shortNames: ['gdg'],
  versions: [
    {
      name: 'v1alpha1',
      description: 'A made-up kind for testing CRD generation.',
      spec: GadgetSpec,
      status: GadgetStatus,
      requireSpec: true,
      printerColumns: [
        { name: 'Size', type: 'string', jsonPath: '.spec.size' },
        { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        ageColumn(),
      ],
    },
  ],
});

const execFileAsync = promisify(execFile);

async function kubectl(...args: string[]): Promise<string> {
  const kubeconfig = process.env.KEIKO_TEST_KUBECONFIG ?? process.env.KUBECONFIG ?? '';
  const { stdout } = await execFileAsync(binaryPath('kubectl'), ['--kubeconfig', kubeconfig, ...args]);
  return stdout;
}

describe('a generated CRD on a real API server', () => {
  let kc: KubeConfig;
  let namespace: string;
  const collection = () => `/apis/${GROUP}/v1alpha1/namespaces/${namespace}/${PLURAL}`;

  const gadget = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'Gadget',
    metadata: { name },
    spec,
  });

  /** POSTs an object the schema should refuse; returns the API server's error. */
  async function rejection(object: unknown): Promise<ApiError> {
    try {
      await rawRequest(kc, 'POST', collection(), object);
    } catch (err) {
      if (err instanceof ApiError) return err;
      throw err;
    }
    throw new Error('the API server accepted an object the schema should refuse');
  }

  beforeAll(async () => {
    kc = testKubeConfig();
    await installCrds(kc, toYaml(gadgetCrd), { fieldManager: 'crd-apiserver-test' });
    namespace = await createTestNamespace(kc, 'crd-apiserver');
  });

  afterAll(async () => {
    if (!kc) return;
    if (namespace) await deleteTestNamespace(kc, namespace);
    await rawRequest(
      kc,
      'DELETE',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${PLURAL}.${GROUP}`,
    ).catch(() => undefined);
  });

  it('is accepted with its enum and CEL rule intact', async () => {
    const live = (await rawRequest(
      kc,
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${PLURAL}.${GROUP}`,
    )) as typeof gadgetCrd;
    const spec = live.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!;
    expect(spec.properties!.size!.enum).toEqual(['small', 'medium', 'large']);
    expect(spec['x-kubernetes-validations']).toEqual([
      expect.objectContaining({ message: 'minReplicas must not exceed maxReplicas' }),
    ]);
    expect(spec.properties!.port).toMatchObject({ 'x-kubernetes-int-or-string': true });
  });

  it('stores a good object, applying defaults and keeping int-or-string values as given', async () => {
    await rawRequest(
      kc,
      'POST',
      collection(),
      gadget('good', { image: 'gadget:1', replicas: 3, port: 'http' }),
    );
    await rawRequest(kc, 'POST', collection(), gadget('numeric-port', { image: 'gadget:1', port: 8080 }));
    const good = (await rawRequest(kc, 'GET', `${collection()}/good`)) as Gadget;
    expect(good.spec).toEqual({ image: 'gadget:1', replicas: 3, port: 'http', size: 'medium' });
    const numeric = (await rawRequest(kc, 'GET', `${collection()}/numeric-port`)) as Gadget;
    expect(numeric.spec.port).toBe(8080);
  });

  const badSpecs: [string, Record<string, unknown>, string, string][] = [
    ['a value outside the enum', { image: 'g', size: 'huge' }, 'spec.size', 'Unsupported value: "huge"'],
    ['a value below the minimum', { image: 'g', replicas: 0 }, 'spec.replicas', 'greater than or equal to 1'],
    ['a missing required field', { size: 'small' }, 'spec.image', 'Required value'],
    ['a boolean where int-or-string is expected', { image: 'g', port: true }, 'spec.port', 'Invalid value'],
    [
      'a broken CEL rule',
      { image: 'g', minReplicas: 5, maxReplicas: 2 },
      'spec.minReplicas',
      'minReplicas must not exceed maxReplicas',
    ],
  ];
  it.each(badSpecs)('rejects %s with 422 naming the field', async (_, spec, field, detail) => {
    const err = await rejection(gadget('bad', spec));
    expect(err.code).toBe(422);
    expect(err.message).toContain(`${field}: `);
    expect(err.message).toContain(detail);
  });

  it('rejects an object without spec', async () => {
    const { spec: _, ...noSpec } = gadget('nospec', {});
    const err = await rejection(noSpec);
    expect(err.code).toBe(422);
    expect(err.message).toContain('spec: Required value');
  });

  it('writes status only through the status subresource', async () => {
    await rawRequest(kc, 'POST', collection(), {
      ...gadget('with-status', { image: 'gadget:1', replicas: 2 }),
      status: { phase: 'Running' },
    });
    const created = (await rawRequest(kc, 'GET', `${collection()}/with-status`)) as Gadget;
    expect(created.status).toBeUndefined();

    await rawRequest(
      kc,
      'PATCH',
      `${collection()}/with-status/status`,
      { status: { phase: 'Running', readyReplicas: 2 } },
      'application/merge-patch+json',
    );
    const updated = (await rawRequest(kc, 'GET', `${collection()}/with-status`)) as Gadget;
    expect(updated.status).toEqual({ phase: 'Running', readyReplicas: 2 });

    const err = await rawRequest(
      kc,
      'PATCH',
      `${collection()}/with-status/status`,
      { status: { phase: 'Exploded' } },
      'application/merge-patch+json',
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toContain('status.phase');
  });

  it('shows the printer columns in kubectl get', async () => {
    const out = await kubectl('get', PLURAL, '-n', namespace, 'with-status');
    const [header, row] = out.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'SIZE', 'REPLICAS', 'PHASE', 'AGE']);
    expect(row!.split(/\s+/).slice(0, 4)).toEqual(['with-status', 'medium', '2', 'Running']);
  });

  it('shows field descriptions in kubectl explain', async () => {
    // The API server publishes a new CRD's OpenAPI document asynchronously; poll until it is there.
    const out = await waitFor(
      async () => {
        const text = await kubectl('explain', `${PLURAL}.spec.image`);
        return text.includes('FIELD: image') ? text : undefined;
      },
      { description: `kubectl explain ${PLURAL}.spec.image`, timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(out.replace(/\s+/g, ' ')).toContain(IMAGE_DESCRIPTION);
    const root = await kubectl('explain', PLURAL);
    expect(root.replace(/\s+/g, ' ')).toContain('A made-up kind for testing CRD generation.');
  });
});
