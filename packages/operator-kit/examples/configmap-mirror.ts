/**
 * The whole operator-kit API in one small controller: mirror every ConfigMap labelled
 * `mirror.example.keiko.dev/enabled=true` into the namespace its annotation
 * `mirror.example.keiko.dev/to` names, keep the copy in step (also when someone edits or deletes it),
 * and remove the copy when the source goes.
 *
 * Shown: a primary trigger with a label selector, a mapped trigger (copies map back to their source),
 * server-side apply with the controller's field manager, a finalizer for cleanup, events on
 * transitions, a `TerminalError` for input no retry can fix, and typed NotFound handling.
 */
import { CoreResources, type KubeObject, type Manager, TerminalError, withFinalizer } from '../src/index.js';

export const ENABLED_LABEL = 'mirror.example.keiko.dev/enabled';
export const TARGET_ANNOTATION = 'mirror.example.keiko.dev/to';
export const SOURCE_LABEL = 'mirror.example.keiko.dev/source';
export const FINALIZER = 'mirror.example.keiko.dev/cleanup';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const ConfigMaps = CoreResources.configMaps;

/** Registers the controller on `manager`; call `manager.start()` afterwards. */
export function configMapMirror(manager: Manager, options: { workers?: number } = {}) {
  const copies = manager.informer<ConfigMap>(ConfigMaps, { labelSelector: SOURCE_LABEL });
  const controller = manager.controller<ConfigMap>(ConfigMaps, {
    name: 'configmap-mirror',
    workers: options.workers ?? 2,
    informer: { labelSelector: `${ENABLED_LABEL}=true` },
    reconcile: async ({ object: source }, { client, recorder, log }) => {
      if (!source) return; // gone, and the finalizer already removed the copy
      const target = source.metadata.annotations?.[TARGET_ANNOTATION];
      const copyName = `${source.metadata.namespace}.${source.metadata.name}`;
      // Validate before taking ownership: without a target there is nothing to clean up later.
      if (!target && !source.metadata.deletionTimestamp) {
        const note = `annotation ${TARGET_ANNOTATION} is missing`;
        await recorder.event(source, { type: 'Warning', reason: 'NoTarget', action: 'Mirror', note });
        throw new TerminalError(note);
      }
      return withFinalizer(client, ConfigMaps, source, FINALIZER, {
        apply: async () => {
          if (!target) return;
          const existing = copies.store.getByName(copyName, target);
          const changed = JSON.stringify(existing?.data ?? null) !== JSON.stringify(source.data ?? {});
          await client.apply(ConfigMaps, {
            metadata: {
              name: copyName,
              namespace: target,
              labels: { [SOURCE_LABEL]: `${source.metadata.namespace}.${source.metadata.name}` },
              annotations: {
                [`${SOURCE_LABEL}-key`]: `${source.metadata.namespace}/${source.metadata.name}`,
              },
            },
            data: source.data ?? {},
          });
          if (changed) {
            log.info({ target }, 'mirrored');
            await recorder.event(source, {
              type: 'Normal',
              reason: 'Mirrored',
              action: 'Mirror',
              note: `copied to ${target}/${copyName}`,
            });
          }
        },
        cleanup: async () => {
          if (target) await client.delete(ConfigMaps, copyName, target);
        },
      });
    },
  });
  // A copy changed or deleted by someone else: reconcile its source, which puts it back.
  controller.watches(copies, (copy) => {
    const key = copy.metadata.annotations?.[`${SOURCE_LABEL}-key`];
    return key ? [key] : [];
  });
  return controller;
}
