/**
 * Status of an InstanceGroup: upstream's fields (`currentState`, `currentMin`, ...) plus metav1
 * conditions (Ready, NodesReady, Progressing, Degraded). Built up during a reconcile and written once
 * at the end, only when it changed (a merge patch on the status subresource).
 */
import { type Condition, type ConditionStatus, type KubeClient, setCondition } from '@keiko/operator-kit';
import { type InstanceGroup, type InstanceGroupStatus, InstanceGroups } from '../api/instancegroup.js';

export type State =
  | 'Init'
  | 'InitCreate'
  | 'ReconcileModifying'
  | 'ReconcileModified'
  | 'InitUpgrade'
  | 'Locked'
  | 'Ready'
  | 'Error'
  | 'Deleting'
  | 'Deleted';

export class StatusBuilder {
  status: InstanceGroupStatus;
  private readonly before: string;

  constructor(private readonly group: InstanceGroup) {
    this.status = structuredClone(group.status ?? {});
    this.before = JSON.stringify(this.status);
  }

  get generation(): number | undefined {
    return this.group.metadata.generation;
  }

  set(fields: Partial<InstanceGroupStatus>): this {
    this.status = { ...this.status, ...fields };
    return this;
  }

  state(state: State): this {
    this.status.currentState = state;
    return this;
  }

  condition(type: string, status: ConditionStatus, reason: string, message = ''): this {
    this.status.conditions = setCondition(
      this.status.conditions as Condition[] | undefined,
      { type, status, reason, message },
      this.generation,
    );
    return this;
  }

  /** Ready=False with a reason the user can act on (bad input only the controller can check). */
  notReady(reason: string, message: string): this {
    return this.state('Error')
      .condition('Ready', 'False', reason, message)
      .condition('Degraded', 'True', reason, message)
      .condition('Progressing', 'False', reason, message);
  }

  get changed(): boolean {
    return JSON.stringify(this.status) !== this.before;
  }

  async write(client: KubeClient): Promise<void> {
    this.status.observedGeneration = this.generation;
    if (!this.changed) return;
    await client.patch(
      InstanceGroups,
      this.group.metadata.name!,
      this.group.metadata.namespace,
      { status: this.status },
      'merge',
      'status',
    );
  }
}
