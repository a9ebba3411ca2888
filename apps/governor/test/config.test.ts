/** Config: upstream flag names and defaults, precedence (default < file < env < flag), validation messages. */
import { describe, expect, test } from '@jest/globals';
import {
  type Command,
  ConfigError,
  OPTIONS,
  parseCommandLine,
  parseConfig,
  parseTaintSpec,
} from '../src/config.js';
import { flagTable } from '../src/docs.js';

const parse = <C extends Command>(
  command: C,
  argv: string[] = [],
  env: Record<string, string> = {},
  file?: string,
) => parseConfig(command, { argv, env, readFile: () => file ?? '' });

describe('defaults (the code defaults of upstream, not its README)', () => {
  test('node-reaper', () => {
    expect(parse('node')).toMatchObject({
      reapAfter: 10,
      softReap: true,
      reapUnknown: true,
      reapUnready: true,
      reapGhost: true,
      reapUnjoined: false,
      reapUnjoinedThresholdMinutes: 15,
      reapFlappy: true,
      flapCount: 5,
      asgValidation: true,
      reapOld: false,
      reapOldThresholdMinutes: 43200,
      reapOldThrottle: 1800,
      reapThrottle: 300,
      maxKillNodes: 1,
      reconsiderUnreapableAfter: 45,
      drainTimeout: 600,
      ignoreFailure: false,
      dryRun: false,
    });
  });
  test('pod-reaper', () => {
    expect(parse('pod')).toMatchObject({
      reapAfter: 10,
      softReap: true,
      reapCompleted: false,
      reapCompletedAfter: 240,
      reapFailed: false,
      reapFailedAfter: 240,
    });
  });
  test('pdb-reaper, with the not-ready defaults fixed', () => {
    expect(parse('pdb')).toMatchObject({
      reapMisconfigured: true,
      reapMultiple: true,
      reapCrashloop: false,
      allCrashloop: true,
      crashloopRestartCount: 5,
      reapNotReady: false,
      allNotReady: true,
      notReadyThresholdSeconds: 1800,
      excludedNamespaces: [],
    });
  });
});

describe('sources and precedence', () => {
  test('file < env < flag', () => {
    const file = 'reapAfter: 20\nmaxKillNodes: 3\nreapTainted: [a]\n';
    const c = parse(
      'node',
      ['--config', '/f.yaml', '--max-kill-nodes=4'],
      { GOVERNOR_REAP_AFTER: '30' },
      file,
    );
    expect(c).toMatchObject({ reapAfter: 30, maxKillNodes: 4, reapTainted: ['a'] });
  });
  test('upstream env names: NODE_NAME, POD_NAMESPACE, AWS_REGION', () => {
    const c = parse('node', [], { NODE_NAME: 'me', POD_NAMESPACE: 'gov', AWS_REGION: 'eu-west-1' });
    expect(c).toMatchObject({ nodeName: 'me', lockNamespace: 'gov', region: 'eu-west-1' });
  });
  test('repeatable and comma-separated lists', () => {
    expect(parse('node', ['--reap-tainted', 'a', '--reap-tainted=b:NoSchedule']).reapTainted).toEqual([
      'a',
      'b:NoSchedule',
    ]);
    expect(parse('pdb', ['--excluded-namespaces=kube-system,ops']).excludedNamespaces).toEqual([
      'kube-system',
      'ops',
    ]);
  });
  test('booleans: bare, =false, and a separate value', () => {
    expect(parse('node', ['--dry-run']).dryRun).toBe(true);
    expect(parse('node', ['--soft-reap=false']).softReap).toBe(false);
    expect(parse('node', ['--soft-reap', 'false', '--dry-run']).softReap).toBe(false);
  });
});

describe('validation names the flag or key at fault', () => {
  test.each([
    [['--reap-after=0'], /--reap-after: must be at least 1/],
    [['--max-kill-nodes=1.5'], /--max-kill-nodes: must be an integer/],
    [['--reap-after=soon'], /--reap-after: expected a number/],
    [['--reap-unjoined'], /--reap-unjoined-tag-key: required/],
    [
      ['--reap-unjoined', '--reap-unjoined-tag-key=k', '--reap-unjoined-threshold-minutes=5'],
      /must be at least 10/,
    ],
    [['--reap-tainted=a:Sometimes'], /--reap-tainted: effect/],
    [['--max-kill-percent=120'], /at most 100/],
    [['--reap-aftr=5'], /unknown flag --reap-aftr/],
  ])('%j', (argv, message) => {
    expect(() => parse('node', argv)).toThrow(message);
  });
  test('config file: unknown key and wrong type', () => {
    expect(() => parse('node', ['--config=/f'], {}, 'reapAftr: 5\n')).toThrow(
      /config file \/f: .*reapAftr|additional/i,
    );
    expect(() => parse('node', ['--config=/f'], {}, 'reapAfter: soon\n')).toThrow(
      /config file \/f: reapAfter/,
    );
    expect(() => parse('node', ['--config=/f'], {}, 'reapAfter: 0\n')).toThrow(ConfigError);
  });
  test('taint specs', () => {
    expect(parseTaintSpec('k=v:NoExecute')).toEqual({ key: 'k', value: 'v', effect: 'NoExecute' });
    expect(parseTaintSpec('k:NoSchedule')).toEqual({ key: 'k', effect: 'NoSchedule' });
    expect(parseTaintSpec('k')).toEqual({ key: 'k' });
  });
});

test('the docs tables are generated from the option tables', () => {
  for (const command of ['node', 'pod', 'pdb'] as const) {
    const table = flagTable(command);
    for (const o of OPTIONS[command]) expect(table).toContain(`\`--${o.flag}\``);
  }
});

describe("upstream's example CronJobs run unchanged (keikoproj/governor examples/*.yaml, args verbatim)", () => {
  test.each([
    [
      'node-reaper',
      [
        'governor',
        'reap',
        'node',
        '--dry-run=true',
        '--region=us-west-2',
        '--reap-after=10',
        '--soft-reap=true',
        '--reap-unknown=true',
        '--reap-unready=true',
        '--reap-throttle=180',
        '--reap-ghost=true',
        '--reap-unjoined=true',
        '--reap-unjoined-threshold-minutes=15',
        '--reap-unjoined-tag-key=KubernetesCluster',
        '--reap-unjoined-tag-value=my-cluster-name',
        '--reap-old',
        '--reap-old-threshold-minutes=43200',
        '--reap-old-throttle=3600',
        '--max-kill-nodes=1',
        '--ignore-failure=false',
      ],
      {
        dryRun: true,
        region: 'us-west-2',
        reapThrottle: 180,
        reapUnjoinedTagKey: 'KubernetesCluster',
        reapOld: true,
        reapOldThrottle: 3600,
      },
    ],
    ['pdb-reaper', ['governor', 'reap', 'pdb', '--reap-crashloop=true'], { reapCrashloop: true }],
    [
      'pod-reaper (its --reap-evicted flags never existed upstream; accepted as --reap-failed aliases)',
      [
        'governor',
        'reap',
        'pod',
        '--reap-after=10',
        '--soft-reap=true',
        '--reap-evicted=true',
        '--reap-evicted-after=240',
      ],
      { reapAfter: 10, reapFailed: true, reapFailedAfter: 240 },
    ],
  ])('%s', (_name, argv, expected) => {
    const { command, rest } = parseCommandLine(argv);
    expect(command).toBeDefined();
    expect(parseConfig(command!, { argv: rest, env: {} })).toMatchObject(expected);
  });
});
