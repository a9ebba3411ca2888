/** kwok Stage documents for pods, written as YAML text (kwok reads its stages from files). */

export interface StageExpression {
  /** A kwok selector key (a jq path such as `.metadata.labels["app"]`). */
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: readonly string[];
}

/**
 * A Stage for pods that are Running, not being deleted, and match `match`. `tail` is the rest of the
 * spec after the selector (`delay:`, `next:`), indented by two spaces as a key of `spec`.
 */
export function runningPodStage(name: string, match: readonly StageExpression[], tail: string): string {
  const expressions: StageExpression[] = [
    { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
    ...match,
    { key: '.status.phase', operator: 'In', values: ['Running'] },
  ];
  const rendered = expressions
    .map(
      (e) =>
        `    - key: '${e.key}'\n      operator: '${e.operator}'` +
        (e.values ? `\n      values:\n${e.values.map((v) => `      - '${v}'`).join('\n')}` : ''),
    )
    .join('\n');
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ${name}
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
${rendered}
${tail}`;
}

/**
 * The `containerStatuses:` of a statusTemplate in which every container has terminated (`$now` must
 * be defined). `exitCode` and `reason` are template text; `extra` is appended to each `terminated:`.
 */
export function terminatedContainers(exitCode: string, reason: string, extra = ''): string {
  return `      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: ${exitCode}
            finishedAt: {{ $now | Quote }}
            reason: ${reason}
            startedAt: {{ $now | Quote }}${extra}
      {{ end }}
`;
}
