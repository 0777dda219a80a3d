/**
 * `check-runner-version` and its `schedule`, and `check-workflows`: the checks that keep the fleet current and
 * workflows on the runners meant for them.
 */
import { Option, type Command } from 'commander';
import { REPORT_FORMATS, type ReportFormat } from '../../workflow-check/report.js';
import type { CommandRuntime } from './runtime.js';

export function checkRunnerVersionCommand(program: Command, runtime: CommandRuntime): void {
  program
    .command('check-runner-version')
    .description('check for a runner release the fleet is behind now: create its templates, start its rollout')
    .option('--retry-rollout <runner-version>', 'start a fresh run of the rollout of this release after it rolled back')
    .action(async (flags: { retryRollout?: string }, command: Command) => {
      const { checkRunnerVersion } = await import('../commands/check-runner-version.js');
      await runtime.withTemporal(command, (ctx) =>
        checkRunnerVersion(
          ctx,
          flags.retryRollout === undefined ? {} : { input: { retryRollout: flags.retryRollout } },
        ),
      );
    });
}

export function checkWorkflowsCommand(program: Command, runtime: CommandRuntime): void {
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
      const { checkWorkflowFiles } = await import('../commands/check-workflows.js');
      await checkWorkflowFiles(runtime.output(command), {
        paths,
        format: flags.format,
        ...(flags.fleet === undefined ? {} : { fleetFile: flags.fleet }),
      });
    });
}

export function scheduleCommands(program: Command, runtime: CommandRuntime): void {
  const schedule = program.command('schedule').description('the schedule that runs the runner-version check');
  schedule
    .command('install')
    .description('create or update the schedule (daily by default, overlapping runs skipped, one missed day caught up)')
    .option('--every <duration>', 'interval between checks with a unit, e.g. "1 day" or "12h", at least a minute')
    .option('--cron <expression>', 'a cron expression instead, e.g. "0 6 * * *"')
    .action(async (flags: { every?: string; cron?: string }, command: Command) => {
      const { installSchedule, validateScheduleOptions } = await import('../commands/schedule.js');
      const options = validateScheduleOptions({
        ...(flags.every === undefined ? {} : { every: flags.every }),
        ...(flags.cron === undefined ? {} : { cron: flags.cron }),
      });
      await runtime.withTemporal(command, (ctx) => installSchedule(ctx, options));
    });
  schedule
    .command('show')
    .description('show the schedule, its next runs and its recent checks')
    .action(async (_flags: unknown, command: Command) => {
      const { showSchedule } = await import('../commands/schedule.js');
      await runtime.withTemporal(command, (ctx) => showSchedule(ctx));
    });
  schedule
    .command('remove')
    .description('delete the schedule (checks already running finish)')
    .action(async (_flags: unknown, command: Command) => {
      const { removeSchedule } = await import('../commands/schedule.js');
      await runtime.withTemporal(command, (ctx) => removeSchedule(ctx));
    });
}
