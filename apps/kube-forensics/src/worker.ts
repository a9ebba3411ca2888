/**
 * kube-forensics capture worker: the second entry point of the same image, run by the capture Job on
 * the target pod's node. env -> config -> one capture -> termination message + exit code. Nothing else.
 * Exit codes (checkpoint/worker-env.ts): 0 captured, 1 a mandatory artifact failed, 2 bad
 * configuration, 3 the pod's sandbox is gone, 4 nothing could be written to S3, 5 no CRI runtime.
 */
import { writeFileSync } from 'node:fs';
import { AwsClients } from '@keiko/aws-kit';
import { createLogger, errorMessage, KubeClient } from '@keiko/operator-kit';
import { KubeConfig } from '@kubernetes/client-node';
import { WORKER_EXIT } from './checkpoint/worker-env.js';
import { runCapture } from './worker/capture.js';
import { parseWorkerEnv, WorkerConfigError } from './worker/config.js';
import { statusReporter, WORKER_FIELD_MANAGER } from './worker/report.js';
import { CrictlRuntime } from './worker/runtime.js';
import { s3Uploader } from './worker/upload.js';

const log = createLogger({ level: process.env.LOG_LEVEL ?? 'info', base: { app: 'kube-forensics-worker' } });

function finish(exitCode: number, summary: string): never {
  try {
    writeFileSync(process.env.TERMINATION_LOG ?? '/dev/termination-log', summary.slice(0, 4000));
  } catch {
    // not in a pod: the log line below carries the summary
  }
  log.info({ exitCode, summary }, 'capture finished');
  process.exit(exitCode);
}

try {
  const config = parseWorkerEnv(process.env);
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const client = await KubeClient.fromKubeConfig(kc, WORKER_FIELD_MANAGER);
  const aws = await AwsClients.create({});
  let bytes = 0;
  const outcome = await runCapture(config, {
    runtime: new CrictlRuntime(config.criEndpoint),
    upload: s3Uploader(aws, config.bucket, (n) => {
      bytes += n;
    }),
    report: statusReporter(client, config.checkpoint),
    client,
    log,
    bytesUploaded: () => bytes,
  });
  finish(outcome.exitCode, outcome.summary);
} catch (err) {
  if (err instanceof WorkerConfigError) finish(WORKER_EXIT.badConfig, err.message);
  finish(WORKER_EXIT.artifactFailed, `capture failed: ${errorMessage(err)}`);
}
