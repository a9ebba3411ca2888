/**
 * Real Argo Workflows on the local control plane: Argo's CRDs, its workflow-controller (built from
 * the pinned Go module, run out of cluster) and a kwok-simulated worker Node whose workflow pods
 * finish according to the Stages in stages.ts.
 *
 * Isolation: the worker Node is managed by a kwok process of its own (annotation
 * `kwok.x-k8s.io/node=argo`, which the control plane's kwok ignores), with the Argo stages in its
 * configuration, so the control plane is used as is and the Argo stages never touch other pods. The
 * Node is tainted; the controller's `workflowDefaults` add the matching toleration and nodeSelector,
 * so workflow pods land there and nothing else does.
 *
 * Guarantees: {@link ArgoWorkflows.start} returns once the controller runs and the worker Node is
 * Ready, or throws after stopping what it started; {@link ArgoWorkflows.stop} leaves no process; a
 * parent that dies without stopping is cleaned up by the same detached reaper as the control plane.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { binaryPath, componentDir } from '../binaries.js';
import { installCrds } from '../crds.js';
import { loadKubeConfig } from '../kubeconfig.js';
import { freePorts } from '../ports.js';
import { ManagedProcess } from '../process.js';
import { rawRequest } from '../raw.js';
import { REAPER_SCRIPT } from '../reaper.js';
import { waitFor } from '../wait.js';
import { argoCrdFiles, argoVersion, workflowControllerPath } from './binaries.js';
import { argoKwokStages } from './stages.js';

/** Annotation value (on `kwok.x-k8s.io/node`) of the Node that runs workflow pods. */
export const ARGO_KWOK_NODE_ANNOTATION_VALUE = 'argo';
/** Label and taint key of the worker Node; workflow pods get the matching nodeSelector/toleration. */
export const ARGO_WORKER_LABEL = 'testkit.keiko.io/argo-worker';
/** Environment the jest global setup exports when it started Argo. */
export const ENV_ARGO_NAMESPACE = 'KEIKO_ARGO_NAMESPACE';
export const ENV_ARGO_INSTANCE_ID = 'KEIKO_ARGO_INSTANCE_ID';

export interface ArgoWorkflowsOptions {
  /** Admin kubeconfig of the cluster (the controller and kwok use it). */
  kubeconfigPath: string;
  /** Namespace of the controller's ConfigMap (created if missing). Default `argo`. */
  namespace?: string;
  /**
   * Argo's `instanceID`: the controller then only runs workflows labelled
   * `workflows.argoproj.io/controller-instanceid=<id>`. Default: none (only unlabelled workflows).
   */
  instanceID?: string;
  /** Name of the worker Node. Default `keiko-argo-worker`. */
  workerNode?: string;
  /** `minimal` (default) or `full` CRD manifests. */
  crds?: 'minimal' | 'full';
  /** Milliseconds allowed for the start (default 60 s). */
  startTimeoutMs?: number;
  log?: (message: string) => void;
}

type Name = 'workflow-controller' | 'kwok-argo';

export class ArgoWorkflows {
  /** Milliseconds each start phase took (`crds`, `ready`, `total`). */
  readonly timings: Record<string, number> = {};
  private readonly processes = new Map<Name, ManagedProcess>();
  private reaperPid: number | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    /** Logs and generated configuration; removed by stop(). */
    readonly workDir: string,
    readonly namespace: string,
    readonly instanceID: string | undefined,
    readonly workerNode: string,
    readonly version: string,
    private readonly stateFile: string,
  ) {}

  /** Installs Argo's CRDs, the worker Node and the controller's ConfigMap, then starts both processes. */
  static async start(options: ArgoWorkflowsOptions): Promise<ArgoWorkflows> {
    const log = options.log ?? (() => {});
    const controllerBin = workflowControllerPath();
    const kwokBin = binaryPath('kwok');
    const kc = loadKubeConfig(options.kubeconfigPath);
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const workDir = mkdtempSync(join(base, 'keiko-argo-'));
    mkdirSync(join(workDir, 'logs'));
    const argo = new ArgoWorkflows(
      workDir,
      options.namespace ?? 'argo',
      options.instanceID,
      options.workerNode ?? 'keiko-argo-worker',
      argoVersion(),
      join(workDir, 'reaper.json'),
    );
    argo.startReaper();
    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    const remaining = () => Math.max(1_000, deadline - Date.now());
    const t0 = Date.now();
    try {
      log(`installing Argo ${argo.version} CRDs`);
      await installArgoCrds(kc, options.crds ?? 'minimal');
      argo.timings.crds = Date.now() - t0;
      await argo.applyConfig(kc);

      const [kwokPort] = await freePorts(1);
      await argo.run('kwok-argo', kwokBin, [
        `--kubeconfig=${options.kubeconfigPath}`,
        `--config=${argo.writeKwokConfig()}`,
        `--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=${ARGO_KWOK_NODE_ANNOTATION_VALUE}`,
        '--node-lease-duration-seconds=40',
        '--cidr=10.245.0.0/16',
        '--node-ip=10.1.0.2',
        `--server-address=127.0.0.1:${kwokPort}`,
      ]);
      await argo.run(
        'workflow-controller',
        controllerBin,
        [
          `--kubeconfig=${options.kubeconfigPath}`,
          `--namespace=${argo.namespace}`,
          '--configmap=workflow-controller-configmap',
          `--executor-image=quay.io/argoproj/argoexec:${argo.version}`,
          '--loglevel=info',
          // A test cluster on 2 cores: a few workers are plenty, and no client-side throttling.
          '--workflow-workers=8',
          '--pod-cleanup-workers=2',
          '--qps=200',
          '--burst=400',
        ],
        {
          ...process.env,
          LEADER_ELECTION_DISABLE: 'true',
          // Argo rate-limits each workflow's requeue to this (default 10 s, which makes a two-step
          // workflow take ~20 s); 1 s is the floor Argo's own comment recommends.
          DEFAULT_REQUEUE_TIME: '1s',
        },
      );
      log('waiting for the Argo worker Node and the workflow-controller');
      await argo.waitReady(remaining(), async () => {
        const node = (await rawRequest(kc, 'GET', `/api/v1/nodes/${argo.workerNode}`)) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        // The controller logs this once its clients and config are set up; informers follow.
        const started = argo.controllerLog().includes('Starting Workflow Controller');
        if (ready && argo.timings.node === undefined) argo.timings.node = Date.now() - t0;
        if (started && argo.timings.controller === undefined) argo.timings.controller = Date.now() - t0;
        return Boolean(ready && started);
      });
      argo.timings.total = Date.now() - t0;
      return argo;
    } catch (err) {
      await argo.stop();
      throw err;
    }
  }

  /** The workflow-controller's log file. */
  logFile(name: Name = 'workflow-controller'): string {
    return join(this.workDir, 'logs', `${name}.log`);
  }

  /** The pid of each process started, by name. */
  pids(): Record<string, number> {
    return Object.fromEntries([...this.processes].map(([name, p]) => [name, p.pid]));
  }

  /** Processes that exited although nobody stopped them. */
  crashed(): string[] {
    if (this.stopping) return [];
    return [...this.processes].filter(([, p]) => !p.running).map(([name]) => name);
  }

  /** Stops the controller and kwok and removes the work directory. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([...this.processes.values()].map((p) => p.stop()));
      rmSync(this.stateFile, { force: true });
      rmSync(this.workDir, { recursive: true, force: true });
      if (this.reaperPid !== undefined) {
        try {
          process.kill(this.reaperPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    })();
    return this.stopping;
  }

  private controllerLog(): string {
    try {
      return readFileSync(this.logFile(), 'utf8');
    } catch {
      return '';
    }
  }

  /** The controller's namespace and ConfigMap, and the worker Node (all server-side applied). */
  private async applyConfig(kc: KubeConfig): Promise<void> {
    const apply = (path: string, body: unknown) =>
      rawRequest(
        kc,
        'PATCH',
        `${path}?fieldManager=keiko-testkit-argo&force=true`,
        JSON.stringify(body),
        'application/apply-patch+yaml',
      );
    await apply(`/api/v1/namespaces/${this.namespace}`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: this.namespace },
    });
    const workflowDefaults = {
      spec: {
        nodeSelector: { [ARGO_WORKER_LABEL]: 'true' },
        tolerations: [{ key: ARGO_WORKER_LABEL, operator: 'Exists', effect: 'NoSchedule' }],
      },
    };
    await apply(`/api/v1/namespaces/${this.namespace}/configmaps/workflow-controller-configmap`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'workflow-controller-configmap', namespace: this.namespace },
      data: {
        ...(this.instanceID ? { instanceID: this.instanceID } : {}),
        // The metrics server's fixed port (9090) would clash between concurrent test runs.
        metricsConfig: stringify({ enabled: false }),
        telemetryConfig: stringify({ enabled: false }),
        workflowDefaults: stringify(workflowDefaults),
      },
    });
    await apply(`/api/v1/nodes/${this.workerNode}`, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.workerNode,
        annotations: {
          'kwok.x-k8s.io/node': ARGO_KWOK_NODE_ANNOTATION_VALUE,
          'node.alpha.kubernetes.io/ttl': '0',
        },
        labels: {
          [ARGO_WORKER_LABEL]: 'true',
          'kubernetes.io/hostname': this.workerNode,
          'kubernetes.io/os': 'linux',
          type: 'kwok',
        },
      },
      spec: {
        providerID: `kwok://${this.workerNode}`,
        taints: [{ key: ARGO_WORKER_LABEL, value: 'true', effect: 'NoSchedule' }],
      },
    });
  }

  /** kwok's configuration for the worker: node and pod lifecycle from kwok's defaults, plus Argo's. */
  private writeKwokConfig(): string {
    const stagesDir = join(componentDir('kwok'), 'stages');
    const defaults = ['node-initialize', 'node-heartbeat-with-lease', 'pod-ready', 'pod-delete'].map((n) =>
      readFileSync(join(stagesDir, `${n}.yaml`), 'utf8').trim(),
    );
    const path = join(this.workDir, 'kwok-argo.yaml');
    writeFileSync(path, `${[...defaults, ...argoKwokStages().map((s) => s.trim())].join('\n---\n')}\n`);
    return path;
  }

  private startReaper(): void {
    writeFileSync(this.stateFile, JSON.stringify({ workDir: this.workDir, groups: [] }));
    const reaper = spawn(process.execPath, ['-e', REAPER_SCRIPT, String(process.pid), this.stateFile], {
      detached: true,
      stdio: 'ignore',
    });
    reaper.unref();
    this.reaperPid = reaper.pid;
  }

  private async run(name: Name, command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
    const p = ManagedProcess.start({ name, command, args, logFile: this.logFile(name), env });
    this.processes.set(name, p);
    const groups = [...this.processes.values()].map((proc) => proc.pid);
    writeFileSync(this.stateFile, JSON.stringify({ workDir: this.workDir, groups }));
  }

  private async waitReady(timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
    const exits = [...this.processes.values()].map((p) =>
      p.exited.then(() => {
        throw p.exitError();
      }),
    );
    for (const e of exits) e.catch(() => {});
    await Promise.race([
      waitFor(probe, {
        description: `Argo (logs in ${join(this.workDir, 'logs')})`,
        timeoutMs,
        intervalMs: 100,
      }),
      ...exits,
    ]);
  }
}

/** Server-side applies Argo's CRDs (from the pinned module version) and waits until they are served. */
export async function installArgoCrds(
  kc: KubeConfig,
  flavour: 'minimal' | 'full' = 'minimal',
): Promise<void> {
  await installCrds(kc, argoCrdFiles(flavour), { fieldManager: 'keiko-testkit-argo' });
}
