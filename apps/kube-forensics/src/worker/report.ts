/**
 * How the worker tells the controller where it is: a JSON patch of `status.worker` on the
 * PodCheckpoint's status subresource (field manager `kube-forensics-worker`; the controller never
 * writes that field), guarded by a `test` of the request's UID, so a deleted-and-recreated request of
 * the same name is never written to. (A UID in a server-side apply body is not checked on the status
 * subresource, which keeps the stored metadata.) A failed report is logged by the caller and the
 * capture goes on: evidence first.
 */
import { InvalidError, type KubeClient } from '@keiko/operator-kit';
import { type PodCheckpoint, PodCheckpoints, type WorkerReport } from '../api/podcheckpoint.js';

export type Reporter = (report: WorkerReport) => Promise<void>;

export const WORKER_FIELD_MANAGER = 'kube-forensics-worker';

export function statusReporter(
  client: KubeClient,
  checkpoint: { namespace: string; name: string; uid: string },
): Reporter {
  const c = client.withFieldManager(WORKER_FIELD_MANAGER);
  const send = (ops: unknown[]) =>
    c.patch<PodCheckpoint>(
      PodCheckpoints,
      checkpoint.name,
      checkpoint.namespace,
      [{ op: 'test', path: '/metadata/uid', value: checkpoint.uid }, ...ops],
      'json',
      'status',
    );
  return async (report) => {
    try {
      await send([{ op: 'add', path: '/status/worker', value: report }]);
    } catch (err) {
      // No status at all yet (the controller writes one before it creates the Job, so this is rare).
      if (!(err instanceof InvalidError)) throw err;
      await send([{ op: 'add', path: '/status', value: { worker: report } }]);
    }
  };
}
