/**
 * Restart safety: the controller is stopped in the middle of a run and a new one takes over. Progress
 * lives in the API (status, deterministic workflow names, identity labels), so nothing is lost and
 * nothing runs twice.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '@keiko/operator-kit';
import { type Addon, Addons } from '../src/api/addon.js';
import { LABEL_STEP } from '../src/lifecycle/naming.js';
import {
  addon,
  createInstallerServiceAccount,
  installed,
  type RunningController,
  startController,
  testWorld,
  waitForAddon,
  workflowsOf,
} from './support.js';

let world: Awaited<ReturnType<typeof testWorld>>;
let client: KubeClient;
let ns: string;
let controller: RunningController | undefined;

beforeAll(async () => {
  world = await testWorld('addon-restart');
  ({ client, namespace: ns } = world);
  await createInstallerServiceAccount(client, ns);
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await world?.cleanup();
});

describe('Addon controller restart', () => {
  it('a controller stopped while prereqs run is replaced without losing or repeating work', async () => {
    controller = await startController([ns]);
    await client.create(
      Addons,
      addon(ns, 'restartable', { prereqs: { delay: '3s' }, install: { delay: '1s' } }),
    );
    const midRun = await waitForAddon(
      client,
      ns,
      'restartable',
      (a) => a.status?.workflows?.prereqs !== undefined && a.status?.lifecycle?.prereqs === 'Pending',
      'prereqs workflow submitted',
    );
    await controller.stop();
    controller = undefined;
    // While no controller runs, Argo finishes prereqs; nobody submits install.
    const prereqsWf = (await workflowsOf(client, midRun)).find(
      (w) => w.metadata.labels?.[LABEL_STEP] === 'prereqs',
    )!;
    expect(prereqsWf.metadata.name).toBe(midRun.status?.workflows?.prereqs);

    controller = await startController([ns]);
    const done = await waitForAddon(
      client,
      ns,
      'restartable',
      installed('Succeeded'),
      'Succeeded after restart',
    );
    const wfs = await workflowsOf(client, done);
    expect(wfs.map((w) => w.metadata.labels?.[LABEL_STEP]).sort()).toEqual(['install', 'prereqs']);
    expect(wfs.find((w) => w.metadata.labels?.[LABEL_STEP] === 'prereqs')!.metadata.uid).toBe(
      prereqsWf.metadata.uid,
    );
    expect(done.status?.starttime).toBe(midRun.status?.starttime);
    expect(done.status?.checksum).toBe(midRun.status?.checksum);
  }, 90_000);

  it('a controller stopped while install runs resumes on the same install workflow', async () => {
    controller ??= await startController([ns]);
    await client.create(Addons, addon(ns, 'install-restart', { prereqs: false, install: { delay: '3s' } }));
    const midRun = await waitForAddon(
      client,
      ns,
      'install-restart',
      (a) => a.status?.workflows?.install !== undefined,
      'install submitted',
    );
    await controller.stop();
    controller = await startController([ns]);
    const done = await waitForAddon(client, ns, 'install-restart', installed('Succeeded'), 'Succeeded');
    const wfs = await workflowsOf(client, done);
    expect(wfs).toHaveLength(1);
    expect(wfs[0]!.metadata.name).toBe(midRun.status?.workflows?.install);
    expect(done.status?.lifecycle?.prereqs).toBe('Succeeded');
  }, 90_000);

  it('takes over an Addon installed by upstream (its checksum) without re-running it', async () => {
    await controller?.stop();
    controller = undefined;
    // As upstream left it: Succeeded, an Adler-32 checksum, its finalizer.
    const created = await client.create<Addon>(Addons, {
      ...addon(ns, 'from-upstream'),
      metadata: { name: 'from-upstream', namespace: ns, finalizers: ['delete.addonmgr.keikoproj.io'] },
    });
    await client.update<Addon>(
      Addons,
      {
        ...created,
        status: {
          lifecycle: { prereqs: 'Succeeded', installed: 'Succeeded' },
          checksum: '5f0e1a2b',
          resources: [],
          reason: '',
          starttime: 1_700_000_000_000,
        },
      },
      'status',
    );
    controller = await startController([ns]);
    const adopted = await waitForAddon(
      client,
      ns,
      'from-upstream',
      (a) => a.status?.adoptedChecksum === '5f0e1a2b',
      'upstream checksum adopted',
    );
    expect(adopted.status?.checksum).toMatch(/^[0-9a-f]{16}$/);
    expect(adopted.status?.lifecycle).toEqual({ prereqs: 'Succeeded', installed: 'Succeeded' });
    expect(adopted.status?.starttime).toBe(1_700_000_000_000);
    expect(await workflowsOf(client, adopted)).toHaveLength(0);
  }, 90_000);
});
