/**
 * The parts of Argo's `argoproj.io/v1alpha1 Workflow` the controller reads or writes. Argo owns the
 * schema; these types cover only the fields used here (everything else passes through untouched).
 */
import type { KubeObject } from '@keiko/operator-kit';

export const Workflows = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  plural: 'workflows',
  kind: 'Workflow',
  namespaced: true,
} as const;

export interface WorkflowParameter {
  name: string;
  value?: string;
  [k: string]: unknown;
}

export interface WorkflowTemplateItem {
  name?: string;
  resource?: { manifest?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface Workflow extends KubeObject {
  spec: {
    arguments?: {
      parameters?: WorkflowParameter[];
      artifacts?: { name?: string; raw?: { data?: string }; [k: string]: unknown }[];
      [k: string]: unknown;
    };
    templates?: WorkflowTemplateItem[];
    activeDeadlineSeconds?: number;
    ttlStrategy?: { secondsAfterCompletion?: number; [k: string]: unknown };
    [k: string]: unknown;
  };
  status?: {
    /** Pending, Running, Succeeded, Failed, Error (empty until Argo picks the workflow up). */
    phase?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
  };
}

/** Argo's workflow phase, folded into upstream's step phase strings. */
export function stepPhase(wf: Workflow | undefined): 'Pending' | 'Succeeded' | 'Failed' {
  switch (wf?.status?.phase) {
    case 'Succeeded':
      return 'Succeeded';
    case 'Failed':
    case 'Error':
      return 'Failed';
    default:
      return 'Pending';
  }
}
