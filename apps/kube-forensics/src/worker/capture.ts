/**
 * One capture, start to end: find the pod's sandbox on this node's runtime, then stream every artifact
 * to S3 (pod-level: the pod and its events as YAML, the sandbox inspect; per container, init and
 * ephemeral ones included: CRI inspect, logs, the filesystem diff and process state), then write
 * `manifest.json` with what was captured and its hashes, report to the request's status, and return
 * an exit code that means something (checkpoint/worker-env.ts `WORKER_EXIT`).
 *
 * Artifacts are independent: one failing does not stop the others, so a partial capture still lands
 * with a manifest that says what is missing. Mandatory ones (pod, sandbox, each container's inspect and
 * logs, and a running container's filesystem diff) make the capture Failed.
 */
import { Readable } from 'node:stream';
import {
  CoreResources,
  errorMessage,
  type KubeClient,
  type KubeObject,
  type Logger,
} from '@keiko/operator-kit';
import { stringify } from 'yaml';
import type { ArtifactResult, WorkerReport } from '../api/podcheckpoint.js';
import type { CaptureTarget } from '../checkpoint/containers.js';
import { WORKER_EXIT } from '../checkpoint/worker-env.js';
import type { WorkerConfig } from './config.js';
import { podLogDir, processState, upperDir } from './node-files.js';
import type { Reporter } from './report.js';
import type { ContainerInfo, ContainerRuntime } from './runtime.js';
import { tarDirectory } from './tar.js';
import type { Uploader } from './upload.js';

export const MANIFEST_SCHEMA = 'forensics.keikoproj.io/manifest/v1';

export interface CaptureDeps {
  runtime: ContainerRuntime;
  upload: Uploader;
  report: Reporter;
  /** Reads the pod and its events (the worker's ServiceAccount may get pods and list events). */
  client: KubeClient;
  log: Logger;
  /** Bytes uploaded so far (the uploader counts them). */
  bytesUploaded: () => number;
}

export interface CaptureOutcome {
  exitCode: number;
  /** One line for the container's termination message. */
  summary: string;
  manifestKey?: string;
  artifacts: ArtifactResult[];
}

interface Artifact {
  name: string;
  container?: string;
  file: string;
  mandatory: boolean;
  contentType: string;
  open: () => Promise<Readable>;
}

const CoreEvents = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true } as const;
const text = (s: string) => Readable.from([Buffer.from(s)]);
const json = (v: unknown) => text(`${JSON.stringify(v, null, 2)}\n`);
const now = () => new Date().toISOString();

export async function runCapture(config: WorkerConfig, deps: CaptureDeps): Promise<CaptureOutcome> {
  const startedAt = now();
  const base: WorkerReport = {
    stage: 'Capturing',
    startedAt,
    message: `capturing ${config.containers.length} container(s)`,
  };
  await safeReport(deps, base);

  let sandbox: Awaited<ReturnType<ContainerRuntime['findSandbox']>>;
  try {
    sandbox = await deps.runtime.findSandbox(config.pod);
  } catch (err) {
    const message = `container runtime unavailable: ${errorMessage(err)}`.slice(0, 1024);
    await safeReport(
      deps,
      { ...base, stage: 'Failed', reason: 'RuntimeUnavailable', message, finishedAt: now() },
      true,
    );
    return { exitCode: WORKER_EXIT.runtimeUnavailable, summary: message, artifacts: [] };
  }
  if (!sandbox) {
    const message = `pod ${config.pod.namespace}/${config.pod.name} (${config.pod.uid}) has no sandbox on node ${config.nodeName}`;
    await safeReport(
      deps,
      { ...base, stage: 'Failed', reason: 'TargetGone', message, finishedAt: now() },
      true,
    );
    return { exitCode: WORKER_EXIT.targetGone, summary: message, artifacts: [] };
  }

  const infos = new Map<string, ContainerInfo | Error>();
  for (const c of config.containers) {
    infos.set(c.name, await deps.runtime.inspectContainer(c.id).catch((err: unknown) => err as Error));
  }

  const artifacts: Artifact[] = [
    {
      name: 'pod',
      file: 'pod.yaml',
      mandatory: true,
      contentType: 'application/yaml',
      open: async () =>
        text(
          stringify(
            await deps.client.get<KubeObject>(CoreResources.pods, config.pod.name, config.pod.namespace),
          ),
        ),
    },
    {
      name: 'events',
      file: 'events.yaml',
      mandatory: false,
      contentType: 'application/yaml',
      open: async () => {
        const events = await deps.client.list(CoreEvents, {
          namespace: config.pod.namespace,
          fieldSelector: `involvedObject.uid=${config.pod.uid}`,
        });
        return text(stringify(events.items));
      },
    },
    {
      name: 'sandbox-inspect',
      file: 'sandbox-inspect.json',
      mandatory: true,
      contentType: 'application/json',
      open: async () => json(sandbox.inspect),
    },
    ...config.containers.flatMap((c) => containerArtifacts(config, c, infos.get(c.name)!)),
  ];

  await safeReport(deps, { ...base, stage: 'Uploading', message: `uploading ${artifacts.length} artifacts` });
  const results: ArtifactResult[] = [];
  for (const a of artifacts) {
    const key = `${config.keyPrefix}/${a.file}`;
    try {
      const up = await deps.upload(key, await a.open(), a.contentType);
      results.push({
        name: a.name,
        ...(a.container ? { container: a.container } : {}),
        key,
        size: up.size,
        sha256: up.sha256,
        mandatory: a.mandatory,
      });
    } catch (err) {
      deps.log.warn({ artifact: a.file, err: errorMessage(err) }, 'artifact failed');
      results.push({
        name: a.name,
        ...(a.container ? { container: a.container } : {}),
        mandatory: a.mandatory,
        error: errorMessage(err).slice(0, 512),
      });
    }
  }
  for (const c of config.containers) {
    const info = infos.get(c.name);
    if (!(info instanceof Error) && info?.pid === undefined) {
      results.push({
        name: 'fs-diff',
        container: c.name,
        mandatory: false,
        error: 'container not running: no filesystem diff or process state',
      });
    }
  }

  const finishedAt = now();
  const manifestKey = `${config.keyPrefix}/manifest.json`;
  const manifest = {
    schema: MANIFEST_SCHEMA,
    checkpoint: config.checkpoint,
    requester: config.requester,
    pod: config.pod,
    node: config.nodeName,
    sandbox: sandbox.id,
    containers: config.containers.map((c) => {
      const info = infos.get(c.name);
      return {
        name: c.name,
        kind: c.kind,
        runtime: c.runtime,
        id: c.id,
        image: c.image,
        imageDigest: c.imageID,
        ...(info && !(info instanceof Error) && info.imageRef ? { runtimeImageRef: info.imageRef } : {}),
        restartCount: c.restartCount,
        running: c.running,
      };
    }),
    startedAt,
    finishedAt,
    artifacts: results,
  };
  try {
    await deps.upload(manifestKey, json(manifest), 'application/json');
  } catch (err) {
    const message = `manifest.json could not be uploaded: ${errorMessage(err)}`;
    await safeReport(deps, {
      ...base,
      stage: 'Failed',
      reason: 'UploadFailed',
      message: message.slice(0, 1024),
      artifacts: results,
      finishedAt,
    });
    return { exitCode: WORKER_EXIT.uploadFailed, summary: message, artifacts: results };
  }
  const failed = results.filter((r) => r.error && r.mandatory);
  const bytesUploaded = deps.bytesUploaded();
  if (failed.length > 0) {
    const message = `mandatory artifacts failed: ${failed.map((r) => `${r.container ? `${r.container}/` : ''}${r.name}`).join(', ')}`;
    await safeReport(
      deps,
      {
        ...base,
        stage: 'Failed',
        reason: 'ArtifactFailed',
        message,
        manifestKey,
        bytesUploaded,
        artifacts: results,
        finishedAt,
      },
      true,
    );
    return { exitCode: WORKER_EXIT.artifactFailed, summary: message, manifestKey, artifacts: results };
  }
  const message = `${results.filter((r) => r.key).length} artifacts, ${bytesUploaded} bytes uploaded`;
  await safeReport(
    deps,
    { ...base, stage: 'Succeeded', message, manifestKey, bytesUploaded, artifacts: results, finishedAt },
    true,
  );
  return { exitCode: WORKER_EXIT.ok, summary: message, manifestKey, artifacts: results };
}

function containerArtifacts(config: WorkerConfig, c: CaptureTarget, info: ContainerInfo | Error): Artifact[] {
  const dir = `containers/${c.name}`;
  const list: Artifact[] = [
    {
      name: 'inspect',
      container: c.name,
      file: `${dir}/inspect.json`,
      mandatory: true,
      contentType: 'application/json',
      open: async () => {
        if (info instanceof Error) throw info;
        return json(info.inspect);
      },
    },
    {
      name: 'logs',
      container: c.name,
      file: `${dir}/logs.tar`,
      mandatory: true,
      contentType: 'application/x-tar',
      open: async () => tarDirectory(podLogDir(config.hostRoot, config.pod, c.name), 'logs'),
    },
  ];
  if (!(info instanceof Error) && info.pid !== undefined) {
    const pid = info.pid;
    list.push(
      {
        name: 'fs-diff',
        container: c.name,
        file: `${dir}/fs-diff.tar`,
        mandatory: true,
        contentType: 'application/x-tar',
        open: async () => tarDirectory(await upperDir(config.hostRoot, pid), 'upper'),
      },
      {
        name: 'process',
        container: c.name,
        file: `${dir}/process.json`,
        mandatory: false,
        contentType: 'application/json',
        open: async () => json(await processState(config.hostRoot, pid)),
      },
    );
  }
  return list;
}

/** Reports; the final report is retried a few times (the controller relies on it), others are best effort. */
async function safeReport(deps: CaptureDeps, report: WorkerReport, final = false): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.report(report);
      return;
    } catch (err) {
      deps.log.warn({ stage: report.stage, attempt, err: errorMessage(err) }, 'status report failed');
      if (!final || attempt >= 5) return;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}
