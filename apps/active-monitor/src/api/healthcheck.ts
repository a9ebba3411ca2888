/**
 * `activemonitor.keikoproj.io/v1alpha1 HealthCheck`: the one source of truth for the CRD and its types.
 *
 * Upstream's field names are kept exactly (including `workflowtimeout`, `remedyworkflow`, and the
 * backoff fields, which are accepted but unused because completion comes from a watch, not polling).
 * Additions are additive: `schedule.timeZone`, `remedyFailureThreshold`, and the status fields after
 * the upstream ones (conditions, observedGeneration, schedule bookkeeping, current run, history).
 */
import type { Condition, KubeObject } from '@keiko/operator-kit';
import { ageColumn, defineCrd, ListMap, StringEnum, withValidations } from '@keiko/operator-kit/crd';
import { type Static, Type } from '@sinclair/typebox';

export const GROUP = 'activemonitor.keikoproj.io';
export const VERSION = 'v1alpha1';

/**
 * Five cron fields of robfig's standard parser (numbers, names, `*`, `,`, `-`, `/`, `?`), a
 * descriptor (`@hourly` ...) or `@every <duration>`, optionally after `CRON_TZ=<zone> ` / `TZ=<zone> `.
 * The controller parses it fully (a Ready=False condition for what this cannot see, e.g. minute 61).
 */
export const CRON_PATTERN =
  '^((CRON_)?TZ=[A-Za-z0-9_+/-]+ +)?(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every +([0-9]+(\\.[0-9]+)?(ms|s|m|h))+|[A-Za-z0-9*?,/-]+( +[A-Za-z0-9*?,/-]+){4})$';

const PolicyRule = Type.Object(
  {
    apiGroups: Type.Optional(
      Type.Array(Type.String({ description: 'API group.' }), { description: 'API groups.' }),
    ),
    resources: Type.Optional(
      Type.Array(Type.String({ description: 'Resource.' }), { description: 'Resources.' }),
    ),
    resourceNames: Type.Optional(
      Type.Array(Type.String({ description: 'Resource name.' }), { description: 'Resource names.' }),
    ),
    nonResourceURLs: Type.Optional(
      Type.Array(Type.String({ description: 'URL.' }), { description: 'Non-resource URLs.' }),
    ),
    verbs: Type.Array(Type.String({ description: 'Verb.' }), { description: 'Verbs.', minItems: 1 }),
  },
  { description: 'An RBAC PolicyRule (rbac.authorization.k8s.io/v1).' },
);

const Source = withValidations(
  Type.Object(
    {
      inline: Type.Optional(
        Type.String({ description: 'Workflow YAML embedded in the HealthCheck.', minLength: 1 }),
      ),
      url: Type.Optional(
        Type.Object(
          {
            path: Type.String({
              description: 'http(s) URL of the workflow YAML.',
              pattern: '^https?://',
              maxLength: 2048,
            }),
            verifyCert: Type.Optional(
              Type.Boolean({ description: 'Verify the server certificate (default true).' }),
            ),
          },
          { description: 'Fetch the workflow from a URL (timeout and cache set by controller flags).' },
        ),
      ),
      file: Type.Optional(
        Type.Object(
          { path: Type.String({ description: 'Path.' }) },
          {
            description:
              'Upstream API field, never implemented there or here: Ready=False SourceUnsupported.',
          },
        ),
      ),
    },
    { description: 'Where the workflow comes from: exactly one of inline, url, file.' },
  ),
  {
    rule: '(has(self.inline) ? 1 : 0) + (has(self.url) ? 1 : 0) + (has(self.file) ? 1 : 0) == 1',
    message: 'exactly one of source.inline, source.url, source.file must be set',
  },
);

const WorkflowResource = Type.Object(
  {
    namespace: Type.String({
      description: 'Namespace the Workflow is submitted into.',
      minLength: 1,
      maxLength: 63,
    }),
    serviceAccount: Type.Optional(
      Type.String({
        description: 'ServiceAccount the workflow runs as; created when missing and bound to the RBAC rules.',
        maxLength: 253,
      }),
    ),
    source: Source,
  },
  { description: 'The workflow to submit.' },
);

function workflowBlock(what: string) {
  return Type.Object(
    {
      generateName: Type.Optional(
        Type.String({ description: `Name prefix of the ${what} Workflows.`, maxLength: 200 }),
      ),
      workflowtimeout: Type.Optional(
        Type.Integer({
          description: `Seconds a ${what} run may take before it is counted failed and its Workflow stopped.`,
          minimum: 1,
        }),
      ),
      resource: WorkflowResource,
      rbacRules: Type.Optional(
        Type.Array(PolicyRule, {
          description: `Rules granted to the ${what} ServiceAccount (replace the defaults).`,
        }),
      ),
    },
    { description: `The ${what} workflow.` },
  );
}

export const HealthCheckSpec = withValidations(
  Type.Object(
    {
      repeatAfterSec: Type.Optional(
        Type.Integer({
          description:
            'Seconds between scheduled runs (fixed rate). 0 with no schedule.cron pauses the check.',
          minimum: 0,
        }),
      ),
      schedule: Type.Optional(
        Type.Object(
          {
            cron: Type.Optional(
              Type.String({
                description:
                  'Standard 5-field cron, @hourly-style descriptor or @every <duration>; CRON_TZ= prefix allowed.',
                maxLength: 256,
                pattern: CRON_PATTERN,
              }),
            ),
            timeZone: Type.Optional(
              Type.String({
                description: 'IANA time zone of the cron schedule (default UTC).',
                maxLength: 64,
              }),
            ),
          },
          { description: 'Cron schedule, used when repeatAfterSec is 0 or unset.' },
        ),
      ),
      description: Type.Optional(Type.String({ description: 'Free text.' })),
      level: StringEnum(['cluster', 'namespace'], {
        description: 'Scope of the RBAC granted to the workflow ServiceAccount: cluster or namespace.',
      }),
      workflow: workflowBlock('check'),
      remedyworkflow: Type.Optional(workflowBlock('remedy')),
      remedyRunsLimit: Type.Optional(
        Type.Integer({
          description: 'Most remedy runs until the counters reset (0/unset: unlimited).',
          minimum: 0,
        }),
      ),
      remedyResetInterval: Type.Optional(
        Type.Integer({
          description: 'Seconds after the last remedy finished after which the remedy counters reset.',
          minimum: 0,
        }),
      ),
      remedyFailureThreshold: Type.Optional(
        Type.Integer({
          description: 'Consecutive failed checks before the remedy runs (default 1).',
          minimum: 1,
        }),
      ),
      backoffFactor: Type.Optional(
        Type.String({ description: 'Upstream poll cadence; accepted, unused (watch-based).' }),
      ),
      backoffMax: Type.Optional(
        Type.Integer({ description: 'Upstream poll cadence; accepted, unused.', minimum: 0 }),
      ),
      backoffMin: Type.Optional(
        Type.Integer({ description: 'Upstream poll cadence; accepted, unused.', minimum: 0 }),
      ),
    },
    { description: 'Desired state of the HealthCheck.' },
  ),
  {
    rule: '!has(self.schedule) || !has(self.schedule.cron) || !has(self.repeatAfterSec) || self.repeatAfterSec == 0',
    message: 'set either repeatAfterSec or schedule.cron, not both',
    fieldPath: '.repeatAfterSec',
  },
);

const RunRecord = Type.Object(
  {
    workflow: Type.String({ description: 'Workflow name.' }),
    namespace: Type.String({ description: 'Workflow namespace.' }),
    type: StringEnum(['check', 'remedy'], { description: 'check or remedy.' }),
    scheduledAt: Type.Optional(
      Type.String({ description: 'Schedule slot the run belongs to.', format: 'date-time' }),
    ),
    startedAt: Type.String({ description: 'When it was submitted.', format: 'date-time' }),
    deadline: Type.Optional(Type.String({ description: 'When it times out.', format: 'date-time' })),
    finishedAt: Type.Optional(Type.String({ description: 'When it finished.', format: 'date-time' })),
    phase: Type.Optional(Type.String({ description: 'Succeeded, Failed, Error or TimedOut.' })),
    message: Type.Optional(Type.String({ description: 'Workflow message.' })),
  },
  { description: 'One workflow run.' },
);
export type RunRecord = Static<typeof RunRecord>;

const ConditionSchema = Type.Object(
  {
    type: Type.String({ description: 'Condition type.' }),
    status: StringEnum(['True', 'False', 'Unknown'], { description: 'Status.' }),
    reason: Type.String({ description: 'Machine-readable reason.' }),
    message: Type.String({ description: 'Human-readable message.' }),
    observedGeneration: Type.Optional(Type.Integer({ description: 'Generation it was computed from.' })),
    lastTransitionTime: Type.String({ description: 'Last status change.', format: 'date-time' }),
  },
  { description: 'A metav1.Condition.' },
);

const str = (description: string) => Type.Optional(Type.String({ description }));
const int = (description: string) => Type.Optional(Type.Integer({ description }));
const time = (description: string) => Type.Optional(Type.String({ description, format: 'date-time' }));

export const HealthCheckStatus = Type.Object(
  {
    status: str('Succeeded, Failed or Stopped (upstream).'),
    errorMessage: str('Message of the last failed check.'),
    successCount: int('Successful checks.'),
    failedCount: int('Failed checks.'),
    totalHealthCheckRuns: int('successCount + failedCount.'),
    lastSuccessfulWorkflow: str('Last successful check Workflow.'),
    lastFailedWorkflow: str('Last failed check Workflow.'),
    startedAt: time('Start of the last check.'),
    finishedAt: time('End of the last check.'),
    lastFailedAt: time('End of the last failed check.'),
    remedyStatus: str('Succeeded, Failed, or why the remedy did not run.'),
    remedySuccessCount: int('Successful remedies since the last reset.'),
    remedyFailedCount: int('Failed remedies since the last reset.'),
    remedyTotalRuns: int('Remedy runs since the last reset.'),
    remedyTriggeredAt: time('Start of the last remedy.'),
    remedyFinishedAt: time('End of the last remedy.'),
    remedyLastFailedAt: time('End of the last failed remedy.'),
    remedyErrorMessage: str('Message of the last failed remedy.'),
    lastRemedyWorkflow: str('Last remedy Workflow (remedies never overwrite the check fields).'),
    observedGeneration: int('Generation last acted on.'),
    conditions: Type.Optional(
      ListMap(ConditionSchema, ['type'], { description: 'Ready, Healthy, RemedyExhausted, RBACReady.' }),
    ),
    lastScheduleTime: time('Schedule slot of the last check started; the schedule is computed from it.'),
    nextRunAt: time('When the next check is due.'),
    consecutiveFailures: int('Failed checks since the last success.'),
    currentRun: Type.Optional(RunRecord),
    history: Type.Optional(
      Type.Array(RunRecord, { description: 'The last 10 runs, newest first.', maxItems: 10 }),
    ),
  },
  { description: 'Observed state of the HealthCheck.' },
);

export type HealthCheckSpec = Static<typeof HealthCheckSpec>;
export type HealthCheckStatus = Omit<Static<typeof HealthCheckStatus>, 'conditions'> & {
  conditions?: Condition[];
};
export type WorkflowBlock = HealthCheckSpec['workflow'];
export type PolicyRule = Static<typeof PolicyRule>;

export interface HealthCheck extends KubeObject {
  spec: HealthCheckSpec;
  status?: HealthCheckStatus;
}

export const healthCheckResource = {
  group: GROUP,
  version: VERSION,
  plural: 'healthchecks',
  kind: 'HealthCheck',
  namespaced: true,
} as const;

export const healthCheckCrd = defineCrd({
  group: GROUP,
  kind: 'HealthCheck',
  plural: 'healthchecks',
  shortNames: ['hc', 'hcs'],
  versions: [
    {
      name: VERSION,
      description:
        'A HealthCheck runs an Argo Workflow on a schedule, counts results and runs a remedy workflow.',
      spec: HealthCheckSpec,
      status: HealthCheckStatus,
      // Upstream's headers, padding included, so scripts that parse `kubectl get hc` keep working.
      printerColumns: [
        { name: 'LATEST STATUS', type: 'string', jsonPath: '.status.status' },
        { name: 'SUCCESS CNT  ', type: 'integer', jsonPath: '.status.successCount' },
        { name: 'FAIL CNT', type: 'integer', jsonPath: '.status.failedCount' },
        { name: 'REMEDY SUCCESS CNT', type: 'integer', jsonPath: '.status.remedySuccessCount' },
        { name: 'REMEDY FAIL CNT', type: 'integer', jsonPath: '.status.remedyFailedCount' },
        ageColumn(),
      ],
    },
  ],
});
