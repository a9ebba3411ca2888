/**
 * `upgrade-manager plan`: the dry run as a command. Reads a RollingUpgrade (a JSON manifest, or
 * `--asg` with strategy flags), observes the real ASG, its instances and the cluster's Nodes, and
 * prints the batches the pure planner would take, in order, changing nothing (reads only: AWS
 * Describe* calls and one Node list).
 *
 *   node dist/main.js plan -f rollingupgrade.json [--output text|json]
 *   kubectl create --dry-run=client -o json -f ru.yaml | node dist/main.js plan -f -
 *   node dist/main.js plan --asg NAME [--mode lazy|eager] [--type randomUpdate|uniformAcrossAzUpdate]
 *                          [--max-unavailable 2|25%] [--force-refresh]
 *
 * Kubernetes from KUBECONFIG (or in-cluster), AWS from the default chain (`AWS_ENDPOINT_URL` honoured).
 */
import { readFileSync } from 'node:fs';
import { AutoScalingGroups, AwsClients, Ec2 } from '@keiko/aws-kit';
import { CoreResources, type KubeClient, Manager, silentLogger } from '@keiko/operator-kit';
import type { RollingUpgrade, RollingUpgradeSpec } from '../api/rollingupgrade.js';
import { type NodeObject, observeAsg, observeNode } from '../controller/observe.js';
import { rollSettings } from '../controller/settings.js';
import { planInputFor } from '../planner/input.js';
import { planBatches, planRoll } from '../planner/plan.js';
import type { ObservedNode } from '../planner/types.js';

export interface PlanOutput {
  asgName: string;
  desiredCapacity: number;
  settings: { mode: string; type: string; maxUnavailable: number };
  drifted: { instanceId: string; reason: string; nodeName?: string; availabilityZone: string }[];
  batches: { instanceId: string; nodeName?: string; availabilityZone: string }[][];
}

const USAGE =
  'usage: plan (-f FILE|- | --asg NAME [--mode lazy|eager] [--type randomUpdate|uniformAcrossAzUpdate] [--max-unavailable N|P%] [--force-refresh]) [--output text|json]';

/** The RollingUpgrade the arguments describe. Throws a message naming the flag on bad input. */
export function rollingUpgradeFromArgs(args: readonly string[], stdin: () => string): RollingUpgrade {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [name, inline] = arg.replace(/^--?/, '').split(/=(.*)/s, 2) as [string, string | undefined];
    if (!arg.startsWith('-')) throw new Error(`unexpected argument ${arg}\n${USAGE}`);
    if (name === 'force-refresh') {
      flags.set(name, inline ?? 'true');
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
    flags.set(name === 'f' ? 'filename' : name, value);
  }
  for (const name of flags.keys()) {
    if (!['filename', 'asg', 'mode', 'type', 'max-unavailable', 'force-refresh', 'output'].includes(name))
      throw new Error(`unknown flag --${name}\n${USAGE}`);
  }
  const file = flags.get('filename');
  if (file) {
    const text = file === '-' ? stdin() : readFileSync(file, 'utf8');
    let ru: RollingUpgrade;
    try {
      ru = JSON.parse(text) as RollingUpgrade;
    } catch {
      throw new Error(
        `-f ${file}: not JSON (for YAML: kubectl create --dry-run=client -o json -f FILE | plan -f -)`,
      );
    }
    if (ru.kind !== 'RollingUpgrade' || !ru.spec?.asgName)
      throw new Error(`-f ${file}: not a RollingUpgrade with spec.asgName`);
    return ru;
  }
  const asgName = flags.get('asg');
  if (!asgName) throw new Error(`-f or --asg is required\n${USAGE}`);
  const mode = flags.get('mode');
  if (mode && mode !== 'lazy' && mode !== 'eager')
    throw new Error(`--mode must be lazy or eager, not ${mode}`);
  const type = flags.get('type');
  if (type && type !== 'randomUpdate' && type !== 'uniformAcrossAzUpdate')
    throw new Error(`--type must be randomUpdate or uniformAcrossAzUpdate, not ${type}`);
  const maxUnavailable = flags.get('max-unavailable');
  const spec: RollingUpgradeSpec = {
    asgName,
    strategy: {
      ...(mode ? { mode } : {}),
      ...(type ? { type } : {}),
      ...(maxUnavailable
        ? { maxUnavailable: /^\d+$/.test(maxUnavailable) ? Number(maxUnavailable) : maxUnavailable }
        : {}),
    } as RollingUpgradeSpec['strategy'],
    ...(flags.get('force-refresh') === 'true' ? { forceRefresh: true } : {}),
  };
  return { apiVersion: 'upgrademgr.keikoproj.io/v1alpha1', kind: 'RollingUpgrade', metadata: {}, spec };
}

/** Observes and plans; nothing is changed. */
export async function planFor(ru: RollingUpgrade, aws: AwsClients, kube: KubeClient): Promise<PlanOutput> {
  const view = { aws, asgs: new AutoScalingGroups(aws), ec2: new Ec2(aws) };
  const group = await observeAsg(view, ru.spec.asgName, { freshTemplates: true });
  if (!group) throw new Error(`Auto Scaling group ${ru.spec.asgName} does not exist`);
  const nodes = new Map<string, ObservedNode>();
  for (const n of (await kube.list<NodeObject>(CoreResources.nodes)).items) {
    const o = observeNode(n);
    if (o) nodes.set(o.instanceId, o);
  }
  const settings = rollSettings(ru.spec, group.desiredCapacity);
  const now = new Date();
  const input = planInputFor(ru, ru.status ?? {}, group, nodes, settings, {
    startedAt: ru.status?.startTime ? new Date(ru.status.startTime) : now,
    now,
    surgeBudget: Number.POSITIVE_INFINITY,
  });
  const zoneOf = new Map(group.instances.map((i) => [i.instanceId, i.availabilityZone]));
  const describe = (instanceId: string) => ({
    instanceId,
    ...(nodes.get(instanceId) ? { nodeName: nodes.get(instanceId)!.name } : {}),
    availabilityZone: zoneOf.get(instanceId) ?? 'unknown',
  });
  return {
    asgName: group.name,
    desiredCapacity: group.desiredCapacity,
    settings: { mode: settings.mode, type: settings.type, maxUnavailable: settings.maxUnavailable },
    drifted: planRoll(input).drifted.map((d) => ({ ...describe(d.instanceId), reason: d.reason })),
    batches: planBatches(input).map((batch) => batch.map(describe)),
  };
}

export function formatPlan(plan: PlanOutput): string {
  const lines = [
    `ASG ${plan.asgName}: desired ${plan.desiredCapacity}, ${plan.settings.mode}, ${plan.settings.type}, maxUnavailable ${plan.settings.maxUnavailable}`,
    `${plan.drifted.length} instances to replace in ${plan.batches.length} batches`,
  ];
  const reason = new Map(plan.drifted.map((d) => [d.instanceId, d.reason]));
  plan.batches.forEach((batch, i) => {
    lines.push(`batch ${i + 1}:`);
    for (const b of batch)
      lines.push(
        `  ${b.instanceId}  ${b.availabilityZone}  ${b.nodeName ?? '(no node)'}  ${reason.get(b.instanceId) ?? ''}`,
      );
  });
  return `${lines.join('\n')}\n`;
}

/** The command: exit 0 with the plan on stdout, 2 on bad input, 1 when AWS or Kubernetes fail. */
export async function runPlan(args: readonly string[]): Promise<number> {
  let ru: RollingUpgrade;
  const outputIndex = args.findIndex((a) => a === '--output' || a.startsWith('--output='));
  const output = outputIndex < 0 ? 'text' : (args[outputIndex]!.split('=')[1] ?? args[outputIndex + 1]);
  try {
    if (output !== 'text' && output !== 'json')
      throw new Error(`--output must be text or json, not ${output}`);
    ru = rollingUpgradeFromArgs(args, () => readFileSync(0, 'utf8'));
  } catch (err) {
    process.stderr.write(`upgrade-manager plan: ${(err as Error).message}\n`);
    return 2;
  }
  const aws = await AwsClients.create();
  // A Manager that is never started: only its client (KUBECONFIG, else in-cluster).
  const kube = (await Manager.create({ name: 'upgrade-manager-plan', logger: silentLogger() })).client;
  try {
    const plan = await planFor(ru, aws, kube);
    process.stdout.write(output === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
    return 0;
  } catch (err) {
    process.stderr.write(`upgrade-manager plan: ${(err as Error).message}\n`);
    return 1;
  } finally {
    aws.destroy();
    kube.transport.close();
  }
}
