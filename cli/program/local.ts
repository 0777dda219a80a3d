/** `worker`, `sim`, `webhooks`, `dev` and `demo`: the processes an operator or a developer runs on this machine. */
import { Option, type Command } from 'commander';
import {
  BEHAVIOUR_NAMES,
  DEFAULT_PROFILE,
  PROFILE_NAMES,
  type BehaviourName,
  type ProfileName,
} from '../../simulator/behaviours.js';
import { DEFAULT_WORKER_SLOTS } from '../../worker/config.js';
import { UsageError } from '../errors.js';
import { behaviourList, nonNegativeNumber, portNumber, positiveNumber, wholeNumber } from './flag-parsers.js';
import type { CommandRuntime } from './runtime.js';

interface SimFlags {
  port: number;
  host?: string;
  fleet?: string;
  speed: number;
  seed?: number;
  profile: ProfileName;
  with: BehaviourName[];
  without: BehaviourName[];
}

interface DevFlags {
  stateDir: string;
  fresh?: boolean;
  port: number;
  simPort: number;
  speed: number;
  webhooks: boolean;
}

/** The worker reads its settings from the environment only; these are the ones that size it. */
const WORKER_HELP = `
Settings come from the environment (README, Configuration); these size the worker:
  ROLLOUT_ACTIVITY_SLOTS       activities run at once, one per lane of a rollout's --max-concurrency,
                               summed over the task queue's workers (default: ${DEFAULT_WORKER_SLOTS.activities})
  ROLLOUT_WORKFLOW_TASK_SLOTS  workflow tasks run at once, at least 2 (default: ${DEFAULT_WORKER_SLOTS.workflowTasks})`;

export function localCommands(program: Command, runtime: CommandRuntime): void {
  program
    .command('worker')
    .description('run a worker: executes rollouts with the GCP and GitHub credentials from the environment')
    .addHelpText('after', WORKER_HELP)
    .action(async () => {
      const { worker } = await import('../commands/worker.js');
      await worker({ env: runtime.env, signal: runtime.signal });
    });

  program
    .command('sim')
    .description('run the GCP Compute + GitHub simulator')
    .option('--port <n>', 'port to listen on (0 = any free port)', portNumber, 0)
    .option('--host <address>', 'address to listen on, e.g. 0.0.0.0 for every interface (default: 127.0.0.1)')
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
    .action(async (flags: SimFlags, command: Command) => {
      const both = flags.with.filter((name) => flags.without.includes(name));
      if (both.length > 0) throw new UsageError(`--with and --without both name ${both.join(', ')}`);
      const { sim } = await import('../commands/sim.js');
      await sim(runtime.output(command), {
        port: flags.port,
        speed: flags.speed,
        signal: runtime.signal,
        profile: flags.profile,
        behaviours: Object.fromEntries([
          ...flags.with.map((name) => [name, true] as const),
          ...flags.without.map((name) => [name, false] as const),
        ]),
        ...(flags.host === undefined ? {} : { host: flags.host }),
        ...(flags.fleet === undefined ? {} : { fleetFile: flags.fleet }),
        ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      });
    });

  program
    .command('webhooks')
    .description("receive GitHub's webhook deliveries: signal each workflow_job event to its pool's controller")
    .requiredOption('--port <n>', 'port to listen on (0 = any free port)', portNumber)
    .option('--host <address>', 'address to listen on (default: every interface)')
    .option(
      '--fleet <file>',
      'fleet definition whose pools jobs are placed in (default: $ROLLOUT_FLEET_FILE, else built-in)',
    )
    .action(async (flags: { port: number; host?: string; fleet?: string }, command: Command) => {
      const { webhooks, webhooksOptions } = await import('../commands/webhooks.js');
      const options = await webhooksOptions(flags, runtime.env);
      await runtime.withTemporal(command, (ctx) => webhooks(ctx, options));
    });

  program
    .command('dev')
    .description('run Temporal (with Web UI), the simulator, a worker and the webhook receiver locally until Ctrl-C')
    .option(
      '--state-dir <dir>',
      "where Temporal's database and the simulator's world live (survive restarts)",
      '.state',
    )
    .option('--fresh', "start over: delete Temporal's database and the simulator's world first")
    .option('--port <n>', 'Temporal port (the Web UI is on port+1000)', portNumber, 7233)
    .option('--sim-port <n>', 'simulator port (0 = any free port)', portNumber, 0)
    .option('--speed <x>', 'simulated seconds per real second', positiveNumber, 1)
    .option('--no-webhooks', 'leave the webhook receiver off: pool controllers then see jobs only when they reconcile')
    .action(async (flags: DevFlags, command: Command) => {
      const { dev } = await import('../commands/dev.js');
      await dev(runtime.output(command), {
        ...flags,
        fresh: flags.fresh === true,
        taskQueue: runtime.temporalConfig().taskQueue,
        env: runtime.env,
        signal: runtime.signal,
      });
    });

  program
    .command('demo')
    .description('start a local stack and run a complete rollout of a new version end to end')
    .option('--pause-for-approval', 'leave the promote gate open for a person to approve (Web UI or CLI)')
    .action(async (flags: { pauseForApproval?: boolean }, command: Command) => {
      const { demo } = await import('../commands/demo.js');
      await demo(runtime.output(command), {
        pauseForApproval: flags.pauseForApproval === true,
        env: runtime.env,
        signal: runtime.signal,
      });
    });
}
