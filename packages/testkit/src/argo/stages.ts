/**
 * kwok Stages that play Argo's executor for workflow pods (nothing runs inside a kwok pod).
 *
 * A pod created by Argo's workflow-controller carries the label `workflows.argoproj.io/workflow`.
 * Once kwok's pod-ready stage has made it Running, these stages finish it:
 *
 * - {@link ARGO_FAIL_ANNOTATION} absent: every container terminates with exit code 0, phase
 *   Succeeded. Argo marks the node Succeeded.
 * - {@link ARGO_FAIL_ANNOTATION} present: the `main` container terminates with exit code 1 and the
 *   annotation's value as message, and the pod is Failed with that message. Argo marks the node
 *   Failed and uses the message (it prefers `pod.status.message`).
 * - {@link ARGO_DELAY_ANNOTATION} (a Go duration such as `3s`) holds the pod Running that long
 *   first; without it the pod finishes after {@link DEFAULT_ARGO_STEP_MS}.
 *
 * Put the annotations on a workflow template's `metadata.annotations`: Argo copies them onto the pod.
 * Limits: outputs (parameters, artifacts, `result`) are never produced, so a template that declares
 * outputs stays Running; stop/terminate and `activeDeadlineSeconds` kill nothing (no real process).
 */
import { runningPodStage, terminatedContainers } from '../kwok-stage.js';

export const ARGO_FAIL_ANNOTATION = 'testkit.keiko.io/argo-fail';
export const ARGO_DELAY_ANNOTATION = 'testkit.keiko.io/argo-delay';
/** Milliseconds a workflow pod stays Running when no delay is asked for. */
export const DEFAULT_ARGO_STEP_MS = 200;
/** The label Argo puts on every pod it creates for a workflow. */
export const ARGO_WORKFLOW_POD_LABEL = 'workflows.argoproj.io/workflow';

function stage(name: string, failing: boolean): string {
  const failKey = `.metadata.annotations["${ARGO_FAIL_ANNOTATION}"]`;
  const exit = failing ? '{{ if eq $item.name "main" }}1{{ else }}0{{ end }}' : '0';
  const reason = failing ? '{{ if eq $item.name "main" }}Error{{ else }}Completed{{ end }}' : 'Completed';
  const message = failing
    ? `
            {{ if eq $item.name "main" }}message: {{ $message | Quote }}{{ end }}`
    : '';
  return runningPodStage(
    name,
    [
      { key: `.metadata.labels["${ARGO_WORKFLOW_POD_LABEL}"]`, operator: 'Exists' },
      { key: failKey, operator: failing ? 'Exists' : 'DoesNotExist' },
    ],
    `  delay:
    durationMilliseconds: ${DEFAULT_ARGO_STEP_MS}
    durationFrom:
      jq:
        expression: '.metadata.annotations["${ARGO_DELAY_ANNOTATION}"]'
  next:
    statusTemplate: |
      {{ $now := Now }}
${failing ? `      {{ $message := or (index .metadata.annotations "${ARGO_FAIL_ANNOTATION}") "failed" }}\n` : ''}${terminatedContainers(exit, reason, message)}      ${failing ? 'message: {{ $message | Quote }}\n      phase: Failed' : 'phase: Succeeded'}
`,
  );
}

/** The two Stage documents (success and failure) as YAML texts. */
export function argoKwokStages(): string[] {
  return [stage('keiko-argo-pod-succeed', false), stage('keiko-argo-pod-fail', true)];
}
