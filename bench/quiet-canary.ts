/**
 * The canary stage on a quiet fleet: few jobs, so old VMs sit idle at the MIGs' sizes and, under the opportunistic
 * policy, no VM is created on the canary template unless the rollout makes room. The default fleet's prod MIGs on
 * the dev server, a worker process and the simulator at 60x on its production profile; prints the canary stage's
 * simulated minutes, the VMs replaced to make room, the runners GitHub refused to remove (busy) and the jobs killed.
 *
 *   node --import tsx bench/quiet-canary.ts [--per-hour N]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_TIMING } from '../activities/ports.js';
import { seedVersionTemplates } from '../devstack/simulator.js';
import { startRollout } from '../testbed/rollouts.js';
import { startBenchStack, type BenchStack } from './stack.js';

const { values } = parseArgs({ options: { 'per-hour': { type: 'string', default: '1' } } });
const perHour = Number(values['per-hour']);
if (!Number.isFinite(perHour) || perHour < 0)
  throw new Error(`--per-hour must be a number >= 0, got ${values['per-hour']}`);

const VERSION = 'a11a11a11a-qct';
const SPEED = 60;

const stack: BenchStack = await startBenchStack({
  simulator: {
    speed: SPEED,
    seed: 11,
    jobRates: [
      { environment: 'prod', perHour, meanDurationMinutes: 30 },
      { environment: 'testing', perHour: 0, meanDurationMinutes: 5 },
    ],
  },
  // The worker follows the simulator's clock, so the runner snapshot's age and listing budget are already in
  // simulated time; only the pause between polls is a real sleep, compressed by the speed.
  activityTiming: { pollIntervalMs: DEFAULT_TIMING.pollIntervalMs / SPEED },
});
try {
  seedVersionTemplates(stack.simulator, VERSION);
  // Let the fleet settle into its quiet state first: the seeded VMs finish their jobs and wait idle.
  stack.simulator.control.advance(2 * 3600);
  const handle = await startRollout(stack, {
    version: VERSION,
    requestedBy: 'bench',
    environments: ['prod'],
    soak: '1 second',
    autoApprove: true,
    timing: {
      healthCheckInterval: '5 seconds',
      runnersReadyTimeout: '5 minutes',
      convergeInterval: '5 seconds',
      approvalReminderInterval: '10 minutes',
      migWorkerLivenessInterval: '1 minute',
    },
  });
  const result = await handle.result();
  const canary = result.stageTimings.find((timing) => timing.stage === 'canary');
  if (canary?.finishedAt === undefined)
    throw new Error(`the rollout ended ${result.outcome} without a finished canary stage`);
  const realSeconds = (Date.parse(canary.finishedAt) - Date.parse(canary.startedAt)) / 1000;
  const control = stack.simulator.control;
  const replaced = control
    .mutations({ endpoint: 'compute.regionInstanceGroupManagers.applyUpdatesToInstances' })
    .filter((entry) => entry.effective).length;
  const refused = control
    .mutations({ endpoint: 'github.runners.delete' })
    .filter((entry) => entry.status === 422).length;
  console.log(
    `quiet fleet (${perHour} job/h per pool), ${result.counts.canaried} canaries: canary stage ${((realSeconds * SPEED) / 60).toFixed(1)} simulated minutes (${realSeconds.toFixed(1)} s real); ` +
      `${replaced} room-making replacements, ${refused} busy runners refused by GitHub, ${control.jobs().killed.length} jobs killed; rollout ${result.outcome}`,
  );
} finally {
  await stack.close();
}
