/**
 * Declares every command, its flags and help. Actions normalise flags into a typed options object and
 * lazy-import the command module, so `rollout --help` and local commands never load the Temporal client.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { MigSelection } from '../activities/types.js';
import { ENVIRONMENTS, type Environment } from '../runner-config/types.js';
import {
  BEHAVIOUR_NAMES,
  DEFAULT_PROFILE,
  isBehaviourName,
  PROFILE_NAMES,
  type BehaviourName,
  type ProfileName,
} from '../simulator/behaviours.js';
import { loadTemporalConfig, type TemporalConfig } from '../worker/config.js';
import { REPORT_FORMATS, type ReportFormat } from '../workflow-check/report.js';
import { connectClient, type CommandContext } from './context.js';
import { UsageError } from './errors.js';
import { createOutput, type Output, type OutputStream } from './output.js';

/** The process around the CLI; tests pass their own streams, environment and abort signal. */
export interface CliEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Aborted on Ctrl-C / SIGTERM. */
  readonly signal: AbortSignal;
}

export function buildProgram(cli: CliEnvironment): Command {
  const program = new Command('rollout')
    .description('Durable, human-gated rollouts of self-hosted GitHub Actions runner fleets, on Temporal')
    .option('--json', 'print machine-readable JSON instead of text')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => cli.stdout.write(text),
      // Usage errors are printed once, by the error boundary in run.ts.
      writeErr: () => undefined,
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .helpCommand(true);

  const output = (command: Command): Output =>
    createOutput({
      json: command.optsWithGlobals<{ json?: boolean }>().json === true,
      stdout: cli.stdout,
      stderr: cli.stderr,
    });

  /** Runs a command that talks to Temporal; the connection is opened after the flags have been validated. */
  const withTemporal = async (command: Command, run: (ctx: CommandContext) => Promise<unknown>): Promise<void> => {
    const temporal = loadTemporalConfig(cli.env);
    const { client, close } = await connectClient(temporal);
    try {
      await run({ client, temporal, output: output(command), signal: cli.signal });
    } finally {
      await close();
    }
  };
  const temporalConfig = (): TemporalConfig => loadTemporalConfig(cli.env);

  program
    .command('start')
    .description('start a rollout of a template version (attaches to it if it is already running)')
    .requiredOption('--version <version>', 'template version, e.g. 56e40f6505-9lp')
    .addOption(new Option('--env <env>', 'only this environment (default: testing, then prod)').choices(ENVIRONMENTS))
    .option('--regions <selector>', 'regions: a name, a regular expression or "all"', 'all')
    .option('--groups <selector>', 'runner groups: a name, a regular expression or "all"', 'all')
    .option('--types <selector>', 'runner types: a name, a regular expression or "all"', 'all')
    .option(
      '--soak <duration>',
      'canary soak with a unit, e.g. "3d" or "36h", at least a second (default: the fleet definition\'s)',
    )
    .option(
      '--health-check-interval <duration>',
      'how often canary health is checked during the soak, e.g. "30m" (default: the worker\'s)',
    )
    .option(
      '--unhealthy-checks <n>',
      "failed health checks of one MIG in a row that roll the canaries back (default: the worker's)",
      positiveInteger,
    )
    .option(
      '--converge-interval <duration>',
      "how often convergence is checked and idle old runners drained after promotion (default: the worker's)",
    )
    .option(
      '--runners-ready-timeout <duration>',
      "how long new runners get to come online after an update (default: the worker's)",
    )
    .option(
      '--max-concurrency <n>',
      `MIGs changed or checked at once, at most ${MAX_CONCURRENCY} (default: the worker's; 32 suits a fleet of 1,000 MIGs)`,
      concurrency,
    )
    .option('--auto-approve', 'approve every gate without a person')
    .option('--plan', 'print the plan and preflight result; start nothing')
    .option('--allow-testing-version', 'permit a -testing version in prod')
    .option('--identity <name>', 'who starts the rollout (default: the local user)')
    .action(async (flags: StartFlags, command: Command) => {
      const { start, validateStartOptions } = await import('./commands/start.js');
      const options = validateStartOptions({
        version: flags.version,
        ...(flags.env === undefined ? {} : { environment: flags.env }),
        regions: flags.regions,
        groups: flags.groups,
        types: flags.types,
        ...(flags.soak === undefined ? {} : { soak: flags.soak }),
        timing: definedOnly({
          healthCheckInterval: flags.healthCheckInterval,
          unhealthyChecksToRollBack: flags.unhealthyChecks,
          convergeInterval: flags.convergeInterval,
          runnersReadyTimeout: flags.runnersReadyTimeout,
          maxConcurrency: flags.maxConcurrency,
        }),
        autoApprove: flags.autoApprove === true,
        planOnly: flags.plan === true,
        allowTestingVersion: flags.allowTestingVersion === true,
        identity: await identity(flags.identity),
      });
      await withTemporal(command, (ctx) => start(ctx, options));
    });

  program
    .command('status')
    .description('show stage, gate and per-MIG progress of a rollout (all running rollouts without an id)')
    .argument('[id]', 'rollout workflow id')
    .option('--watch', 'keep refreshing until the rollout finishes')
    .action(async (id: string | undefined, flags: { watch?: boolean }, command: Command) => {
      const { status } = await import('./commands/status.js');
      await withTemporal(command, (ctx) =>
        status(ctx, { ...(id === undefined ? {} : { id }), watch: flags.watch === true }),
      );
    });

  program
    .command('list')
    .description('list rollouts (running ones first)')
    .option('--limit <n>', 'at most this many', positiveInteger, 20)
    .option('--running', 'only rollouts that are still running')
    .action(async (flags: { limit: number; running?: boolean }, command: Command) => {
      const { list } = await import('./commands/list.js');
      await withTemporal(command, (ctx) => list(ctx, { limit: flags.limit, runningOnly: flags.running === true }));
    });

  program
    .command('approve')
    .description('approve the gate a rollout waits at')
    .argument('<id>', 'rollout workflow id')
    .addOption(
      new Option('--stage <stage>', 'the gate to approve (default: the one pending)').choices(['test', 'promote']),
    )
    .option('--reason <text>', 'why (recorded in the rollout)')
    .option('--identity <name>', 'who approves (default: the local user)')
    .action(async (id: string, flags: ControlFlags & { stage?: 'test' | 'promote' }, command: Command) => {
      const { control } = await import('./commands/control.js');
      const request = { id, identity: await identity(flags.identity), ...reasonOf(flags) };
      await withTemporal(command, (ctx) =>
        control(ctx, { action: 'approve', ...request, ...(flags.stage === undefined ? {} : { stage: flags.stage }) }),
      );
    });

  for (const [action, description] of [
    ['pause', 'pause a rollout before its next step (in-flight MIG operations finish)'],
    ['resume', 'resume a paused rollout'],
    ['abort', 'stop a rollout and roll back whatever is not yet promoted'],
    ['rollback', 'roll canaries and updated MIGs back to the previous template'],
  ] as const) {
    program
      .command(action)
      .description(description)
      .argument('<id>', 'rollout workflow id')
      .option('--reason <text>', 'why (recorded in the rollout)')
      .option('--identity <name>', 'who asks (default: the local user)')
      .action(async (id: string, flags: ControlFlags, command: Command) => {
        const { control } = await import('./commands/control.js');
        const request = { id, identity: await identity(flags.identity), ...reasonOf(flags) };
        await withTemporal(command, (ctx) => control(ctx, { action, ...request }));
      });
  }

  program
    .command('fleet')
    .description('inventory: MIGs, versions, templates, autoscaling, runners by version, drift')
    .addOption(new Option('--env <env>', 'only this environment').choices(ENVIRONMENTS))
    .action(async (flags: { env?: Environment }, command: Command) => {
      const { fleet } = await import('./commands/fleet.js');
      await withTemporal(command, (ctx) => fleet(ctx, flags.env === undefined ? {} : { environments: [flags.env] }));
    });

  selectionOptions(
    program
      .command('drain-idle')
      .description('remove idle runners (GitHub first, then the VM) from the selected MIGs; busy ones are left'),
  )
    .option('--dry-run', 'only report what would be drained')
    .action(async (flags: SelectionFlags & { dryRun?: boolean }, command: Command) => {
      const { drainIdle } = await import('./commands/drain-idle.js');
      const selection = selectionOf(flags);
      await withTemporal(command, (ctx) => drainIdle(ctx, { selection, dryRun: flags.dryRun === true }));
    });

  selectionOptions(program.command('autoscaling').description('set the autoscaling bounds of the selected MIGs'))
    .requiredOption('--min <n>', 'minimum number of VMs', wholeNumber)
    .requiredOption('--max <n>', 'maximum number of VMs', wholeNumber)
    .action(async (flags: SelectionFlags & { min: number; max: number }, command: Command) => {
      const { autoscaling } = await import('./commands/autoscaling.js');
      const selection = selectionOf(flags);
      if (flags.min > flags.max) throw new UsageError(`--min ${flags.min} is greater than --max ${flags.max}`);
      await withTemporal(command, (ctx) => autoscaling(ctx, { selection, bounds: { min: flags.min, max: flags.max } }));
    });

  program
    .command('templates')
    .description('instance templates')
    .command('create')
    .description('create every instance template of a version (existing identical ones count as done)')
    .requiredOption('--version <version>', 'template version, e.g. 56e40f6505-9lp')
    .option('--runner-version <version>', "GitHub Actions runner version to bake in (default: the fleet definition's)")
    .action(async (flags: { version: string; runnerVersion?: string }, command: Command) => {
      const { createTemplates, validateTemplateOptions } = await import('./commands/templates.js');
      const options = validateTemplateOptions({
        version: flags.version,
        ...(flags.runnerVersion === undefined ? {} : { runnerVersion: flags.runnerVersion }),
      });
      await withTemporal(command, (ctx) => createTemplates(ctx, options));
    });

  program
    .command('worker')
    .description('run a worker: executes rollouts with the GCP and GitHub credentials from the environment')
    .action(async () => {
      const { worker } = await import('./commands/worker.js');
      await worker({ env: cli.env, signal: cli.signal });
    });

  program
    .command('sim')
    .description('run the GCP Compute + GitHub simulator')
    .option('--port <n>', 'port to listen on (0 = any free port)', portNumber, 0)
    .option('--fleet <file>', 'fleet definition to simulate (default: the built-in default fleet)')
    .option('--speed <x>', 'simulated seconds per real second (0 freezes the clock)', nonNegativeNumber, 1)
    .option('--seed <n>', 'random seed, for reproducible runs', wholeNumber)
    .addOption(
      new Option('--profile <name>', 'how like production GCP and GitHub it behaves (docs/simulator.md)')
        .choices(PROFILE_NAMES)
        .default(DEFAULT_PROFILE),
    )
    .option(
      '--with <behaviours>',
      `switch behaviours on, comma-separated (${BEHAVIOUR_NAMES.join(', ')})`,
      behaviourList,
      [] as BehaviourName[],
    )
    .option('--without <behaviours>', 'switch behaviours off, comma-separated', behaviourList, [] as BehaviourName[])
    .action(
      async (
        flags: {
          port: number;
          fleet?: string;
          speed: number;
          seed?: number;
          profile: ProfileName;
          with: BehaviourName[];
          without: BehaviourName[];
        },
        command: Command,
      ) => {
        const both = flags.with.filter((name) => flags.without.includes(name));
        if (both.length > 0) throw new UsageError(`--with and --without both name ${both.join(', ')}`);
        const { sim } = await import('./commands/sim.js');
        await sim(output(command), {
          port: flags.port,
          speed: flags.speed,
          signal: cli.signal,
          profile: flags.profile,
          behaviours: Object.fromEntries([
            ...flags.with.map((name) => [name, true] as const),
            ...flags.without.map((name) => [name, false] as const),
          ]),
          ...(flags.fleet === undefined ? {} : { fleetFile: flags.fleet }),
          ...(flags.seed === undefined ? {} : { seed: flags.seed }),
        });
      },
    );

  program
    .command('dev')
    .description('run Temporal (with Web UI), the simulator and a worker locally until Ctrl-C')
    .option(
      '--state-dir <dir>',
      "where Temporal's database and the simulator's world live (survive restarts)",
      '.state',
    )
    .option('--fresh', "start over: delete Temporal's database and the simulator's world first")
    .option('--port <n>', 'Temporal port (the Web UI is on port+1000)', portNumber, 7233)
    .option('--sim-port <n>', 'simulator port (0 = any free port)', portNumber, 0)
    .option('--speed <x>', 'simulated seconds per real second', positiveNumber, 1)
    .action(
      async (
        flags: { stateDir: string; fresh?: boolean; port: number; simPort: number; speed: number },
        command: Command,
      ) => {
        const { dev } = await import('./commands/dev.js');
        await dev(output(command), {
          ...flags,
          fresh: flags.fresh === true,
          taskQueue: temporalConfig().taskQueue,
          env: cli.env,
          signal: cli.signal,
        });
      },
    );

  program
    .command('demo')
    .description('start a local stack and run a complete rollout of a new version end to end')
    .option('--pause-for-approval', 'leave the promote gate open for a person to approve (Web UI or CLI)')
    .action(async (flags: { pauseForApproval?: boolean }, command: Command) => {
      const { demo } = await import('./commands/demo.js');
      await demo(output(command), {
        pauseForApproval: flags.pauseForApproval === true,
        env: cli.env,
        signal: cli.signal,
      });
    });

  program
    .command('check-runner-version')
    .description('check for a runner release the fleet is behind now: create its templates, start its rollout')
    .action(async (_flags: unknown, command: Command) => {
      const { checkRunnerVersion } = await import('./commands/check-runner-version.js');
      await withTemporal(command, (ctx) => checkRunnerVersion(ctx));
    });

  program
    .command('check-workflows')
    .description(
      "check where GitHub Actions workflows' jobs can run on the fleet: one trust level, a runner that exists",
    )
    .argument('[paths...]', 'workflow files or directories', ['.github/workflows'])
    .option('--fleet <file>', 'fleet definition (default: the built-in default fleet)')
    .addOption(
      new Option('--format <format>', 'text, or GitHub Actions annotations').choices(REPORT_FORMATS).default('text'),
    )
    .action(async (paths: string[], flags: { fleet?: string; format: ReportFormat }, command: Command) => {
      const { checkWorkflowFiles } = await import('./commands/check-workflows.js');
      await checkWorkflowFiles(output(command), {
        paths,
        format: flags.format,
        ...(flags.fleet === undefined ? {} : { fleetFile: flags.fleet }),
      });
    });

  const schedule = program.command('schedule').description('the schedule that runs the runner-version check');
  schedule
    .command('install')
    .description('create or update the schedule (daily by default, overlapping runs skipped, one missed day caught up)')
    .option('--every <duration>', 'interval between checks with a unit, e.g. "1 day" or "12h", at least a minute')
    .option('--cron <expression>', 'a cron expression instead, e.g. "0 6 * * *"')
    .action(async (flags: { every?: string; cron?: string }, command: Command) => {
      const { installSchedule, validateScheduleOptions } = await import('./commands/schedule.js');
      const options = validateScheduleOptions({
        ...(flags.every === undefined ? {} : { every: flags.every }),
        ...(flags.cron === undefined ? {} : { cron: flags.cron }),
      });
      await withTemporal(command, (ctx) => installSchedule(ctx, options));
    });
  schedule
    .command('show')
    .description('show the schedule, its next runs and its recent checks')
    .action(async (_flags: unknown, command: Command) => {
      const { showSchedule } = await import('./commands/schedule.js');
      await withTemporal(command, (ctx) => showSchedule(ctx));
    });
  schedule
    .command('remove')
    .description('delete the schedule (checks already running finish)')
    .action(async (_flags: unknown, command: Command) => {
      const { removeSchedule } = await import('./commands/schedule.js');
      await withTemporal(command, (ctx) => removeSchedule(ctx));
    });

  return program;
}

interface StartFlags {
  version: string;
  env?: Environment;
  regions: string;
  groups: string;
  types: string;
  soak?: string;
  healthCheckInterval?: string;
  unhealthyChecks?: number;
  convergeInterval?: string;
  runnersReadyTimeout?: string;
  maxConcurrency?: number;
  autoApprove?: boolean;
  plan?: boolean;
  allowTestingVersion?: boolean;
  identity?: string;
}

interface ControlFlags {
  reason?: string;
  identity?: string;
}

interface SelectionFlags {
  env: Environment;
  regions?: string;
  groups?: string;
  types?: string;
}

function selectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--env <env>', 'environment').choices(ENVIRONMENTS).default('prod'))
    .option('--regions <selector>', 'regions: a name, a regular expression or "all"')
    .option('--groups <selector>', 'runner groups: a name, a regular expression or "all"')
    .option('--types <selector>', 'runner types: a name, a regular expression or "all"');
}

/** Fleet-wide changes must be asked for: at least one selector, `all` when every MIG is meant. */
function selectionOf(flags: SelectionFlags): MigSelection {
  if (flags.regions === undefined && flags.groups === undefined && flags.types === undefined) {
    throw new UsageError('choose MIGs with --regions, --groups or --types (use "all" to mean every MIG)');
  }
  return {
    environment: flags.env,
    regions: flags.regions ?? 'all',
    groups: flags.groups ?? 'all',
    types: flags.types ?? 'all',
  };
}

/** The given fields only: optional properties are exact in this project. */
function definedOnly<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function reasonOf(flags: ControlFlags): { reason?: string } {
  return flags.reason === undefined ? {} : { reason: flags.reason };
}

async function identity(flag: string | undefined): Promise<string> {
  if (flag !== undefined) {
    if (flag.trim() === '') throw new UsageError('--identity must not be empty');
    return flag;
  }
  const { userInfo } = await import('node:os');
  return userInfo().username;
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number (0, 1, 2, …)');
  return Number(value);
}

function positiveInteger(value: string): number {
  const n = wholeNumber(value);
  if (n === 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}

/**
 * A worker runs at most 100 activities at once (the Temporal TypeScript SDK's default), and each lane of the
 * rollout runs one: more lanes would only queue on the worker.
 */
const MAX_CONCURRENCY = 100;

function concurrency(value: string): number {
  const n = positiveInteger(value);
  if (n > MAX_CONCURRENCY) throw new InvalidArgumentError(`must be at most ${MAX_CONCURRENCY}`);
  return n;
}

function portNumber(value: string): number {
  const n = wholeNumber(value);
  if (n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

/** Comma-separated behaviour names; repeated flags add up. */
function behaviourList(value: string, previous: BehaviourName[]): BehaviourName[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !isBehaviourName(name));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(
      `unknown behaviour ${unknown.join(', ') || '""'} (behaviours: ${BEHAVIOUR_NAMES.join(', ')})`,
    );
  }
  return [...previous, ...names.filter(isBehaviourName)];
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('must be a number, 0 or more');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0');
  return n;
}
