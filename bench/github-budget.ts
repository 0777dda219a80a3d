/**
 * What a full rollout costs of GitHub's budget, counted by the simulator in simulated time: requests charged per
 * simulated hour (a 304 to a conditional request is free), the most in flight at once, and the rate-limit
 * refusals. The default fleet and the 1,025-MIG fleet, on the dev server, a worker process and the simulator on its
 * production profile. The engine runs at production pacing: its activities follow the simulator's clock, and the
 * waits in real time (the workflow's health-check and convergence intervals, the pause between polls) are divided
 * by the simulator's speed, so an hour of simulated time asks of GitHub what an hour of production would; a
 * two-hour soak puts the health checks in the count.
 *
 *   node --import tsx bench/github-budget.ts [--migs default|1000]… [--speed N] [--timeout SECONDS]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { msToNumber, type Duration } from '@temporalio/common';
import { DEFAULT_TIMING } from '../activities/ports.js';
import { defaultFleet } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { DEFAULT_ROLLOUT_TIMING } from '../workflows/rollout-contract.js';
import { seedVersionTemplates } from '../devstack/simulator.js';
import { startRollout } from '../testbed/rollouts.js';
import { startBenchStack } from './stack.js';
import { FLEET_1000, scaledFleet } from './fleets.js';

const VERSION = 'b0d9e7b0d9-ghb';
const SOAK_HOURS = 2;
/** The budgets the engine is held to: an App installation has 5,000 requests an hour for everything else too. */
const TARGET_PER_HOUR: Record<string, number> = { default: 500, '1000': 2500 };
const FLEETS: Record<string, () => FleetDefinition> = { default: defaultFleet, '1000': () => scaledFleet(FLEET_1000) };

const { values } = parseArgs({
  options: {
    migs: { type: 'string', multiple: true, default: ['default', '1000'] },
    speed: { type: 'string', default: '60' },
    timeout: { type: 'string', default: '1800' },
  },
});
const speed = Number(values.speed);
const timeoutSeconds = Number(values.timeout);
if (!(speed >= 1) || !(timeoutSeconds > 0)) throw new Error('--speed must be >= 1 and --timeout > 0');
for (const name of values.migs) {
  if (FLEETS[name] === undefined) throw new Error(`--migs ${name}: known fleets are ${Object.keys(FLEETS).join(', ')}`);
}

/** A production interval as the engine must wait it when simulated time runs `speed` times faster. */
const compressed = (duration: string): string =>
  `${Math.max(1, Math.round(msToNumber(duration as Duration) / speed))}ms`;

for (const name of values.migs) {
  const build = FLEETS[name];
  if (build === undefined) continue;
  const stack = await startBenchStack({
    fleet: build(),
    simulator: {
      speed,
      seed: 1,
      jobRates: [
        { environment: 'prod', perHour: 30, meanDurationMinutes: 10 },
        { environment: 'testing', perHour: 60, meanDurationMinutes: 10 },
      ],
    },
    // The worker follows the simulator's clock, so the runner snapshot's age and listing budget are already in
    // simulated time; only the pause between polls is a real sleep, compressed by the speed.
    activityTiming: { pollIntervalMs: DEFAULT_TIMING.pollIntervalMs / speed },
  });
  try {
    seedVersionTemplates(stack.simulator, VERSION);
    stack.simulator.control.resetCounters();
    const simulatedStart = Date.parse(stack.simulator.control.clock().now);
    const started = performance.now();
    const handle = await startRollout(stack, {
      version: VERSION,
      requestedBy: 'bench',
      soak: compressed(`${SOAK_HOURS} hours`),
      autoApprove: true,
      timing: {
        healthCheckInterval: compressed(DEFAULT_ROLLOUT_TIMING.healthCheckInterval),
        convergeInterval: compressed(DEFAULT_ROLLOUT_TIMING.convergeInterval),
        // Measured by the activity, on the simulator's clock.
        runnersReadyTimeout: DEFAULT_ROLLOUT_TIMING.runnersReadyTimeout,
        approvalReminderInterval: compressed(DEFAULT_ROLLOUT_TIMING.approvalReminderInterval),
        migWorkerLivenessInterval: compressed(DEFAULT_ROLLOUT_TIMING.migWorkerLivenessInterval),
        maxConcurrency: name === 'default' ? DEFAULT_ROLLOUT_TIMING.maxConcurrency : 32,
      },
    });
    let outcome = `did not finish in ${timeoutSeconds} s`;
    while (performance.now() - started < timeoutSeconds * 1000) {
      if ((await handle.describe()).status.name !== 'RUNNING') {
        const result = await handle.result();
        outcome =
          result.outcome === 'completed'
            ? result.outcome
            : `${result.outcome} (${result.evidence.slice(0, 3).join(' | ')})`;
        break;
      }
      await sleep(1000);
    }
    if (outcome.startsWith('did not finish')) await handle.terminate('bench timeout');
    const traffic = stack.simulator.control.githubTraffic();
    const simulatedHours = (Date.parse(stack.simulator.control.clock().now) - simulatedStart) / 3600_000;
    const migs = stack.simulator.control.state().migs.length;
    const target = TARGET_PER_HOUR[name] ?? 0;
    console.log(
      `${name} fleet (${migs} MIGs), speed ${speed}: rollout ${outcome} in ${simulatedHours.toFixed(1)} simulated hours ` +
        `(${((performance.now() - started) / 1000).toFixed(0)} s real)`,
    );
    console.log(
      `  GitHub: ${traffic.charged} charged requests (${(traffic.charged / simulatedHours).toFixed(0)} an hour on average, ` +
        `${traffic.peakChargedPerHour} in the busiest simulated hour; target ≤ ${target}), ${traffic.notModified} free 304s, ` +
        `peak ${traffic.peakConcurrent} in flight, ${traffic.secondaryLimited} secondary-limit and ${traffic.primaryLimited} primary-limit refusals`,
    );
    console.log(`  per simulated hour: ${traffic.hours.map((hour) => hour.charged).join(', ')}`);
  } finally {
    await stack.close();
  }
}
