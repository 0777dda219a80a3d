/**
 * A full rollout (test group, canary, a one-second soak, promote, converge) on the dev server, a worker process and
 * the simulator, for the default fleet, 200 MIGs and 1,000 MIGs across 40 regions, with instant simulated boots.
 * Prints per fleet: wall time, GCP and GitHub calls per MIG, the worker's peak RSS and the largest workflow
 * history, then how each grows with the fleet. A rollout still running at its timeout is terminated and reported
 * with the stage it was in and its history length.
 *
 *   bash scripts/bench fleet-scale [--migs default|200|1000]… [--timeout SECONDS] [--concurrency N]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultFleet } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { DEFAULT_ROLLOUT_TIMING, statusQuery, type RolloutState } from '../workflows/rollout-contract.js';
import { seedVersionTemplates } from '../devstack/simulator.js';
import { COMPRESSED_ROLLOUT_TIMING } from '../devstack/timing.js';
import { startRollout } from '../testbed/rollouts.js';
import { startBenchStack, type BenchStack } from './stack.js';
import { FLEET_1000, FLEET_200, scaledFleet } from './fleets.js';
import { apiCalls, benchOptions, wholeNumber } from './harness.js';

const VERSION = '5ca1e5ca1e-bnc';

interface FleetRun {
  readonly build: () => FleetDefinition;
  /**
   * Per-MIG operations at once (the rollout's `maxConcurrency`): the production default for the default fleet;
   * more for the large ones, where four at a time would make the fan-out, not the engine, the figure.
   */
  readonly concurrency: number;
  /** Generous on a busy 2-core machine: the figure is how far the rollout got, not a hang. */
  readonly timeoutSeconds: number;
}

const FLEETS: Record<string, FleetRun> = {
  default: { build: defaultFleet, concurrency: DEFAULT_ROLLOUT_TIMING.maxConcurrency, timeoutSeconds: 600 },
  '200': { build: () => scaledFleet(FLEET_200), concurrency: 16, timeoutSeconds: 1200 },
  '1000': { build: () => scaledFleet(FLEET_1000), concurrency: 32, timeoutSeconds: 2400 },
};

interface Figures {
  readonly fleet: string;
  readonly migs: number;
  readonly finished: boolean;
  readonly outcome: string;
  readonly seconds: number;
  readonly computeCallsPerMig: number;
  readonly githubCallsPerMig: number;
  readonly peakWorkerRssMiB: number;
  readonly largestHistory: { readonly workflowId: string; readonly events: number };
  readonly workflows: number;
}

async function measure(
  name: string,
  fleet: FleetDefinition,
  concurrency: number,
  timeoutSeconds: number,
): Promise<Figures> {
  const stack = await startBenchStack({
    fleet,
    simulator: {
      speed: 120,
      seed: 1,
      // Boots and registration are (almost) instant; the autoscaler's cool-down stays realistic.
      timings: { bootSeconds: 1, registerSeconds: 1, autoscalerDelaySeconds: 300 },
      // Jobs of ten simulated minutes (five real seconds): an ephemeral runner that takes a job and leaves between
      // two polls is never seen online, and at 1,000 MIGs one listing of the organisation's runners takes longer
      // than a one-minute job at this speed.
      jobRates: [
        { environment: 'prod', perHour: 30, meanDurationMinutes: 10 },
        { environment: 'testing', perHour: 60, meanDurationMinutes: 10 },
      ],
    },
  });
  try {
    seedVersionTemplates(stack.simulator, VERSION);
    stack.simulator.control.resetCounters();
    const started = performance.now();
    const handle = await startRollout(stack, {
      version: VERSION,
      requestedBy: 'bench',
      // The shortest soak the workflow accepts (it refuses a zero one).
      soak: '1 second',
      autoApprove: true,
      // Idle MIG workers report in at the production cadence: at the tests' minute, a thousand of them would
      // make the rollout's history about their reports rather than the rollout.
      timing: {
        ...COMPRESSED_ROLLOUT_TIMING,
        migWorkerLivenessInterval: DEFAULT_ROLLOUT_TIMING.migWorkerLivenessInterval,
        maxConcurrency: concurrency,
      },
    });
    let outcome: string | undefined;
    while (performance.now() - started < timeoutSeconds * 1000) {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') {
        outcome = await handle.result().then(
          (result) =>
            result.outcome === 'completed'
              ? result.outcome
              : `${result.outcome} (${result.evidence[0] ?? 'no evidence'})`,
          (error: unknown) => `${description.status.name}: ${failureMessage(error)}`,
        );
        break;
      }
      await sleep(1000);
    }
    const seconds = (performance.now() - started) / 1000;
    const finished = outcome !== undefined;
    if (outcome === undefined) {
      const state: RolloutState | undefined = await handle.query(statusQuery).catch(() => undefined);
      const { historyLength } = await handle.describe();
      const phases =
        state === undefined ? '' : `; MIG phases ${JSON.stringify(countBy(state.migs.map((mig) => mig.phase)))}`;
      outcome = `did not finish in ${timeoutSeconds} s (stage ${state?.stage ?? 'unknown'}, history ${historyLength} events${phases})`;
      await handle.terminate('bench timeout');
    }
    const peakWorkerRssMiB = peakRssMiB(stack);
    const migs = stack.simulator.control.state().migs.length;
    const histories = await historyLengths(stack);
    const largest = histories.reduce((max, entry) => (entry.events > max.events ? entry : max), {
      workflowId: '',
      events: 0,
    });
    return {
      fleet: name,
      migs,
      finished,
      outcome,
      seconds,
      computeCallsPerMig: apiCalls(stack.simulator, 'compute').total / migs,
      githubCallsPerMig: apiCalls(stack.simulator, 'github').total / migs,
      peakWorkerRssMiB,
      largestHistory: largest,
      workflows: histories.length,
    };
  } finally {
    await stack.close();
  }
}

/** VmHWM: the worker process's peak resident set since it started. */
function peakRssMiB(stack: BenchStack): number {
  const pid = stack.worker.pid;
  if (pid === undefined) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

async function historyLengths(stack: BenchStack): Promise<Array<{ workflowId: string; events: number }>> {
  const lengths: Array<{ workflowId: string; events: number }> = [];
  for await (const execution of stack.client.workflow.list()) {
    const description = await stack.client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    lengths.push({ workflowId: execution.workflowId, events: description.historyLength });
  }
  return lengths;
}

/** The innermost failure message: why a rollout failed. */
function failureMessage(error: unknown): string {
  let current: unknown = error;
  let message = String(error);
  while (current instanceof Error) {
    message = current.message;
    current = current.cause;
  }
  return message;
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

const options = benchOptions(
  'scripts/bench fleet-scale [--migs default|200|1000]… [--timeout SECONDS] [--concurrency N]',
  {
    migs: { type: 'string', multiple: true },
    timeout: { type: 'string' },
    concurrency: { type: 'string' },
  },
);
console.log('full rollout on the dev server (1 s soak, instant boots, simulator at 120x)');
const measured: Figures[] = [];
for (const name of options.migs ?? ['default', '200', '1000']) {
  const run = FLEETS[name];
  if (run === undefined) throw new Error(`unknown fleet "${name}" (known: ${Object.keys(FLEETS).join(', ')})`);
  const concurrency = wholeNumber('concurrency', options.concurrency, run.concurrency);
  const timeoutSeconds = wholeNumber('timeout', options.timeout, run.timeoutSeconds);
  const figures = await measure(name, run.build(), concurrency, timeoutSeconds);
  measured.push(figures);
  console.log(
    [
      `fleet ${figures.fleet}: ${figures.migs} MIGs, concurrency ${concurrency}: ${figures.outcome}, ${figures.seconds.toFixed(1)} s wall`,
      `  API calls per MIG: ${figures.computeCallsPerMig.toFixed(1)} GCP, ${figures.githubCallsPerMig.toFixed(1)} GitHub`,
      `  peak worker RSS: ${figures.peakWorkerRssMiB.toFixed(0)} MiB`,
      `  largest history: ${figures.largestHistory.events} events (${figures.largestHistory.workflowId}); ${figures.workflows} workflow runs`,
    ].join('\n'),
  );
}
const [smallest, ...larger] = measured.filter((figures) => figures.finished);
if (smallest !== undefined) {
  for (const figures of larger) {
    const growth = (of: (f: Figures) => number): string => `x${(of(figures) / of(smallest)).toFixed(2)}`;
    console.log(
      `growth ${smallest.fleet} -> ${figures.fleet} (MIGs ${growth((f) => f.migs)}): wall ${growth((f) => f.seconds)}, ` +
        `GCP calls per MIG ${growth((f) => f.computeCallsPerMig)}, GitHub calls per MIG ${growth((f) => f.githubCallsPerMig)}, ` +
        `peak RSS ${growth((f) => f.peakWorkerRssMiB)}, largest history ${growth((f) => f.largestHistory.events)}`,
    );
  }
}
