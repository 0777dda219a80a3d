/**
 * Detection: a rollout whose canary template bootloops (its VMs crash before registering, and the MIG keeps
 * recreating them), on the dev server, a worker process and the simulator at 60x. Prints the simulated time from
 * the canary patch to the rollback patch of that MIG, and the real time, with the check cadence in simulated
 * minutes (a health check every 2 s real = every 2 simulated minutes).
 *
 *   node --import tsx bench/detection.ts
 */
import { templateName } from '../runner-config/naming.js';
import { seedVersionTemplates } from '../devstack/simulator.js';
import { startRollout } from '../testbed/rollouts.js';
import { startBenchStack, type BenchStack } from './stack.js';

const VERSION = 'b007b007b0-blp';
const SPEED = 60;
const MIG = 'gh-runner-presubmit-cpu-us-west1';

const stack: BenchStack = await startBenchStack({
  simulator: {
    speed: SPEED,
    seed: 5,
    timings: { autoscalerDelaySeconds: 300 },
    jobRates: [
      { environment: 'prod', perHour: 120, meanDurationMinutes: 5 },
      { environment: 'testing', perHour: 0, meanDurationMinutes: 5 },
    ],
  },
});
try {
  seedVersionTemplates(stack.simulator, VERSION);
  stack.simulator.control.setFaults({
    bootloopTemplates: [templateName(stack.fleet.namePrefix, 'presubmit', 'cpu', VERSION)],
  });
  const started = Date.now();
  const handle = await startRollout(stack, {
    version: VERSION,
    requestedBy: 'bench',
    environments: ['prod'],
    regions: 'us-west1',
    groups: 'presubmit',
    types: 'cpu',
    soak: '1 hour',
    autoApprove: true,
    timing: {
      healthCheckInterval: '2 seconds',
      unhealthyChecksToRollBack: 2,
      runnersReadyTimeout: '30 minutes',
      convergeInterval: '2 seconds',
      approvalReminderInterval: '1 minute',
      migWorkerLivenessInterval: '1 minute',
    },
  });
  const result = await handle.result();
  const realSeconds = (Date.now() - started) / 1000;
  const patches = stack.simulator.control
    .mutations({ endpoint: 'compute.regionInstanceGroupManagers.patch' })
    .filter((entry) => entry.effective && entry.path.includes(`/instanceGroupManagers/${MIG}`));
  const [canary, rollback] = patches;
  if (canary === undefined || rollback === undefined) {
    throw new Error(`expected a canary and a rollback patch of ${MIG}, got ${patches.length}: ${result.outcome}`);
  }
  const simulatedMinutes = (Date.parse(rollback.at) - Date.parse(canary.at)) / 60_000;
  console.log(`bootlooping canary (${MIG}), simulator at ${SPEED}x, runners-ready timeout 30 simulated minutes`);
  console.log(
    `outcome ${result.outcome}: canary to rollback ${simulatedMinutes.toFixed(1)} simulated minutes (${realSeconds.toFixed(1)} s real for the whole rollout)`,
  );
  console.log(`evidence: ${result.evidence.join(' | ').slice(0, 400)}`);
} finally {
  await stack.close();
}
