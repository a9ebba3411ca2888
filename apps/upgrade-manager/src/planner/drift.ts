/** Drift: does an instance run what its Auto Scaling group launches now? Pure. */
import type { ObservedInstance, ObservedNode, TargetConfig, TemplateRef } from './types.js';

/** The template an instance of this type is expected to run (mixed-instances overrides first). */
export function expectedTemplate(target: TargetConfig, instanceType?: string): TemplateRef | undefined {
  return (instanceType && target.overrides?.[instanceType]) || target.launchTemplate;
}

/**
 * Why `instance` must be replaced, or undefined when it runs the current configuration. A template is
 * compared by id when both sides know it, otherwise by name; versions are compared as resolved numbers.
 * `forceRefresh` replaces instances whose node was created before the RollingUpgrade (an instance
 * without a node is left to the never-joined rule).
 */
export function driftReason(
  instance: ObservedInstance,
  target: TargetConfig,
  node: ObservedNode | undefined,
  forceRefresh: boolean,
  createdAt: Date,
): string | undefined {
  if (target.launchConfigurationName !== undefined) {
    if (instance.launchConfigurationName !== target.launchConfigurationName) {
      return `launch configuration ${instance.launchConfigurationName ?? '(none)'} differs from ${target.launchConfigurationName}`;
    }
  } else {
    const want = expectedTemplate(target, instance.instanceType);
    const have = instance.launchTemplate;
    if (want) {
      if (!have) return 'instance was not launched from a launch template';
      const sameTemplate =
        want.id && have.id ? want.id === have.id : want.name !== undefined && want.name === have.name;
      if (!sameTemplate) {
        return `launch template ${have.name ?? have.id} differs from ${want.name ?? want.id}`;
      }
      if (want.version !== undefined && have.version !== want.version) {
        return `launch template version ${have.version ?? '(unknown)'} differs from ${want.version}`;
      }
    }
  }
  if (forceRefresh && node?.createdAt && node.createdAt.getTime() < createdAt.getTime()) {
    return 'forceRefresh: node predates the RollingUpgrade';
  }
  return undefined;
}
