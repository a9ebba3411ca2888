/**
 * The capture worker against a directory fixture of a node (test/fixture.ts: /var/log/pods, /proc and
 * overlay upper dirs) and an in-process fake CRI runtime (test/fake-runtime.ts), for the cases easier
 * to stage on a fixture (several containers with known PIDs, missing logs, a 12 MiB log, no bucket);
 * containerd.test.ts runs the capture against a real containerd. The CRI answers are faked and
 * everything else is real. The pod and its events come from the real API server; uploads go to the
 * emulator's S3 (moto) through aws-kit's streaming multipart upload, and every test reads the objects
 * back and checks the manifest's hashes.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AwsClients } from '@keiko/aws-kit';
import { type KubeClient, silentLogger } from '@keiko/operator-kit';
import { createTestNamespace, testKubeConfig } from '@keiko/testkit';
import { parse } from 'yaml';
import type { WorkerReport } from '../src/api/podcheckpoint.js';
import type { CaptureTarget } from '../src/checkpoint/containers.js';
import { WORKER_EXIT } from '../src/checkpoint/worker-env.js';
import { MANIFEST_SCHEMA, runCapture } from '../src/worker/capture.js';
import type { WorkerConfig } from '../src/worker/config.js';
import { s3Uploader } from '../src/worker/upload.js';
import { FakeRuntime } from './fake-runtime.js';
import { type FixtureContainer, nodeFixture, readTar } from './fixture.js';
import { createBucket, createPod, kubeClient, listKeys, readObject, s3Clients } from './support.js';

let client: KubeClient;
let aws: AwsClients;
let namespace: string;
const roots: string[] = [];

beforeAll(async () => {
  client = await kubeClient();
  aws = await s3Clients();
  namespace = await createTestNamespace(testKubeConfig(), 'kf-worker');
});
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  aws.destroy();
  client.transport.close();
});

const target = (name: string, kind: CaptureTarget['kind'], running: boolean): CaptureTarget => ({
  name,
  kind,
  runtime: 'containerd',
  id: `${name}-id`,
  image: `registry.example/${name}:1`,
  imageID: `registry.example/${name}@sha256:${'cd'.repeat(32)}`,
  running,
  restartCount: 1,
});

/** A pod in the API, a node fixture and a fake runtime that knows the pod's sandbox and containers. */
async function world(
  podName: string,
  containers: (FixtureContainer & { kind: CaptureTarget['kind'] })[],
  options: { sandbox?: boolean; unavailable?: boolean } = {},
) {
  const pod = await createPod(client, namespace, podName, 'kf-no-node', {
    initContainers: containers.filter((c) => c.kind === 'init').map((c) => c.name),
    containers: containers.filter((c) => c.kind === 'container').map((c) => c.name),
  });
  const ref = { namespace, name: podName, uid: pod.metadata.uid! };
  const hostRoot = nodeFixture(ref, containers);
  roots.push(hostRoot);
  const runtime = new FakeRuntime(
    options.sandbox === false ? [] : [{ ...ref, id: `sandbox-${podName}` }],
    containers.map((c) => ({
      id: `${c.name}-id`,
      ...(c.pid ? { pid: c.pid } : {}),
      imageRef: `sha256:${'ef'.repeat(32)}`,
    })),
    options.unavailable ? { unavailable: true } : {},
  );
  const bucket = await createBucket(aws);
  const config: WorkerConfig = {
    checkpoint: { namespace, name: `${podName}-cp`, uid: '00000000-0000-0000-0000-000000000001' },
    pod: ref,
    nodeName: 'kf-no-node',
    bucket,
    keyPrefix: `evidence/forensics/1764201600_${namespace}_${podName}`,
    containers: containers.map((c) => target(c.name, c.kind, c.pid !== undefined)),
    requester: 'kubectl-create',
    criEndpoint: 'unix:///host/run/containerd/containerd.sock',
    hostRoot,
  };
  const reports: WorkerReport[] = [];
  let bytes = 0;
  const run = () =>
    runCapture(config, {
      runtime,
      upload: s3Uploader(aws, bucket, (n) => {
        bytes += n;
      }),
      report: async (r) => {
        reports.push(structuredClone(r));
      },
      client,
      log: silentLogger(),
      bytesUploaded: () => bytes,
    });
  return { config, bucket, reports, run, pod };
}

describe('capture worker (fixture node, fake CRI, moto S3)', () => {
  test('captures every container (init included) and the manifest hashes match the objects in S3', async () => {
    const w = await world('web-0', [
      { name: 'setup', kind: 'init' }, // exited: logs and inspect only
      { name: 'app', kind: 'container', pid: 4242, children: [4250] },
      { name: 'sidecar', kind: 'container', pid: 5151 },
    ]);
    const outcome = await w.run();
    expect(outcome.exitCode).toBe(WORKER_EXIT.ok);

    const prefix = w.config.keyPrefix;
    expect(await listKeys(aws, w.bucket)).toEqual(
      [
        'containers/app/fs-diff.tar',
        'containers/app/inspect.json',
        'containers/app/logs.tar',
        'containers/app/process.json',
        'containers/setup/inspect.json',
        'containers/setup/logs.tar',
        'containers/sidecar/fs-diff.tar',
        'containers/sidecar/inspect.json',
        'containers/sidecar/logs.tar',
        'containers/sidecar/process.json',
        'events.yaml',
        'manifest.json',
        'pod.yaml',
        'sandbox-inspect.json',
      ].map((k) => `${prefix}/${k}`),
    );

    const manifest = JSON.parse(
      (await readObject(aws, w.bucket, `${prefix}/manifest.json`)).toString('utf8'),
    );
    expect(manifest).toMatchObject({
      schema: MANIFEST_SCHEMA,
      requester: 'kubectl-create',
      node: 'kf-no-node',
      pod: { namespace, name: 'web-0', uid: w.pod.metadata.uid },
      sandbox: 'sandbox-web-0',
    });
    expect(
      manifest.containers.map((c: { name: string; imageDigest: string }) => [c.name, c.imageDigest]),
    ).toEqual([
      ['setup', `registry.example/setup@sha256:${'cd'.repeat(32)}`],
      ['app', `registry.example/app@sha256:${'cd'.repeat(32)}`],
      ['sidecar', `registry.example/sidecar@sha256:${'cd'.repeat(32)}`],
    ]);
    const uploaded = manifest.artifacts.filter((a: { key?: string }) => a.key);
    expect(uploaded).toHaveLength(13);
    for (const a of uploaded as { key: string; size: number; sha256: string }[]) {
      const body = await readObject(aws, w.bucket, a.key);
      expect({
        key: a.key,
        size: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
      }).toEqual({
        key: a.key,
        size: a.size,
        sha256: a.sha256,
      });
    }
    // The exited init container has no filesystem diff: recorded, not mandatory.
    expect(manifest.artifacts).toContainEqual({
      name: 'fs-diff',
      container: 'setup',
      mandatory: false,
      error: 'container not running: no filesystem diff or process state',
    });

    // Contents: logs (current and previous), the upper dir, processes of the container only.
    const logs = readTar(await readObject(aws, w.bucket, `${prefix}/containers/app/logs.tar`));
    expect(logs.map((e) => e.name)).toEqual(['logs/0.log', 'logs/1.log']);
    expect(logs[1]!.content).toContain('suspicious: curl');
    const diff = readTar(await readObject(aws, w.bucket, `${prefix}/containers/app/fs-diff.tar`));
    expect(diff.map((e) => [e.name, e.type])).toEqual([
      ['upper/tmp/', '5'],
      ['upper/tmp/dropper.sh', '0'],
    ]);
    const proc = JSON.parse(
      (await readObject(aws, w.bucket, `${prefix}/containers/app/process.json`)).toString('utf8'),
    );
    expect(proc.processes.map((p: { pid: number; cmdline: string[] }) => [p.pid, p.cmdline[0]])).toEqual([
      [4242, '/bin/app'],
      [4250, 'sh'],
    ]);
    expect(proc.processes[0].fds).toContainEqual({ fd: '3', target: 'socket:[12345]' });
    expect(proc.net.tcp).toContain('0100007F:1F90');
    const podYaml = parse((await readObject(aws, w.bucket, `${prefix}/pod.yaml`)).toString('utf8'));
    expect(podYaml.metadata.uid).toBe(w.pod.metadata.uid);

    // Reports: Capturing -> Uploading -> Succeeded, the last one with every artifact and the bytes.
    expect(w.reports.map((r) => r.stage)).toEqual(['Capturing', 'Uploading', 'Succeeded']);
    const last = w.reports.at(-1)!;
    expect(last.manifestKey).toBe(`${prefix}/manifest.json`);
    expect(last.artifacts).toEqual(manifest.artifacts);
    const manifestBytes = (await readObject(aws, w.bucket, `${prefix}/manifest.json`)).length;
    expect(last.bytesUploaded).toBe(
      uploaded.reduce((s: number, a: { size: number }) => s + a.size, manifestBytes),
    );
  });

  test('a large log streams up as a multipart upload and its hash matches', async () => {
    const big = Buffer.alloc(12 * 1024 * 1024 + 123, 'x');
    const w = await world('big-0', [{ name: 'app', kind: 'container', pid: 7000, logs: { '0.log': big } }]);
    const outcome = await w.run();
    expect(outcome.exitCode).toBe(WORKER_EXIT.ok);
    const entry = outcome.artifacts.find((a) => a.name === 'logs')!;
    const body = await readObject(aws, w.bucket, entry.key!);
    expect(body.length).toBe(entry.size);
    expect(createHash('sha256').update(body).digest('hex')).toBe(entry.sha256);
    expect(readTar(body)[0]).toMatchObject({ name: 'logs/0.log', size: big.length });
  });

  test('a mandatory artifact that fails: the rest and the manifest still land, exit code 1', async () => {
    const w = await world('nologs-0', [{ name: 'app', kind: 'container', pid: 7100, logs: null }]);
    const outcome = await w.run();
    expect(outcome.exitCode).toBe(WORKER_EXIT.artifactFailed);
    const manifest = JSON.parse(
      (await readObject(aws, w.bucket, `${w.config.keyPrefix}/manifest.json`)).toString('utf8'),
    );
    const logs = manifest.artifacts.find((a: { name: string }) => a.name === 'logs');
    expect(logs).toMatchObject({ container: 'app', mandatory: true });
    expect(logs.error).toMatch(/ENOENT/);
    expect(manifest.artifacts.find((a: { name: string }) => a.name === 'fs-diff').key).toBeDefined();
    expect(w.reports.at(-1)).toMatchObject({
      stage: 'Failed',
      reason: 'ArtifactFailed',
      message: 'mandatory artifacts failed: app/logs',
    });
  });

  test('the pod sandbox is gone from the runtime: exit code 3, nothing uploaded', async () => {
    const w = await world('gone-0', [{ name: 'app', kind: 'container', pid: 7200 }], { sandbox: false });
    const outcome = await w.run();
    expect(outcome.exitCode).toBe(WORKER_EXIT.targetGone);
    expect(await listKeys(aws, w.bucket)).toEqual([]);
    expect(w.reports.at(-1)).toMatchObject({ stage: 'Failed', reason: 'TargetGone' });
  });

  test('the CRI socket does not answer: exit code 5', async () => {
    const w = await world('nocri-0', [{ name: 'app', kind: 'container', pid: 7300 }], { unavailable: true });
    const outcome = await w.run();
    expect(outcome.exitCode).toBe(WORKER_EXIT.runtimeUnavailable);
    expect(w.reports.at(-1)).toMatchObject({ stage: 'Failed', reason: 'RuntimeUnavailable' });
  });

  test('the bucket does not exist: nothing can be written, exit code 4', async () => {
    const w = await world('nobucket-0', [{ name: 'app', kind: 'container', pid: 7400 }]);
    w.config.bucket = 'kf-no-such-bucket';
    const outcome = await runCapture(w.config, {
      runtime: new FakeRuntime([{ ...w.config.pod, id: 's' }], [{ id: 'app-id', pid: 7400 }]),
      upload: s3Uploader(aws, 'kf-no-such-bucket'),
      report: async (r) => {
        w.reports.push(r);
      },
      client,
      log: silentLogger(),
      bytesUploaded: () => 0,
    });
    expect(outcome.exitCode).toBe(WORKER_EXIT.uploadFailed);
    expect(w.reports.at(-1)).toMatchObject({ stage: 'Failed', reason: 'UploadFailed' });
  });
});
