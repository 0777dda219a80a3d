/**
 * Convergence against its physical limit, in simulated time. The default prod fleet runs busy for two simulated
 * hours, then every MIG is switched to a new template (as promotion does). From then until every instance and
 * runner is on the new template is compared with the physical limit: the longest job still running at the switch
 * (busy runners are never killed) plus one VM boot and registration. Three policies: natural turnover only
 * (idle old VMs leave only after their next job), and the rollout's idle drain every 10 and every 2 simulated
 * minutes. The simulator's clock is advanced explicitly, so figures do not depend on the machine.
 *
 *   bash scripts/bench convergence
 */
import { templateName } from '../runner-config/naming.js';
import { ENGINE_DEFECT_WORKAROUNDS, startSimulator, type SimulatorHandle } from '../simulator/index.js';
import { seedVersionTemplates } from '../devstack/simulator.js';
import { inActivity, simulatorActivities } from './harness.js';

const VERSION = 'c0c0c0c0c0-cnv';
const TIMINGS = { bootSeconds: 60, registerSeconds: 45 };
const STEP_SECONDS = 15;
const GIVE_UP_HOURS = 48;

interface Convergence {
  readonly policy: string;
  /** Simulated minutes from the switch to every prod MIG converged (undefined: not within GIVE_UP_HOURS). */
  readonly minutes: number | undefined;
  readonly limitMinutes: number;
  readonly drained: number;
}

async function converge(
  policy: string,
  drainEveryMinutes: number | undefined,
  jobsPerHour: number,
): Promise<Convergence> {
  const sim = await startSimulator({
    behaviours: ENGINE_DEFECT_WORKAROUNDS,
    speed: 0,
    seed: 3,
    timings: TIMINGS,
    jobRates: [
      { environment: 'prod', perHour: jobsPerHour, meanDurationMinutes: 40 },
      { environment: 'testing', perHour: 0, meanDurationMinutes: 30 },
    ],
  });
  try {
    const activities = simulatorActivities(sim, { pollIntervalMs: 10 });
    sim.control.advance(2 * 3600);
    seedVersionTemplates(sim, VERSION);
    const migs = sim.control.state().migs.filter((mig) => mig.environment === 'prod');
    const switchedAt = Date.parse(sim.control.clock().now);
    const busyAtSwitch = new Set(sim.control.jobs().running.map((job) => job.id));
    for (const mig of migs) {
      const template = templateName(sim.fleet.namePrefix, mig.group, mig.type, VERSION);
      await inActivity(() => activities.directUpdate({ mig: { region: mig.region, name: mig.name }, template }));
    }
    let drained = 0;
    let nextDrain = switchedAt + (drainEveryMinutes ?? 0) * 60_000;
    let convergedAt: number | undefined;
    const lastFinish = new Map<number, number>();
    while (Date.parse(sim.control.clock().now) - switchedAt < GIVE_UP_HOURS * 3600_000) {
      sim.control.advance(STEP_SECONDS);
      const now = Date.parse(sim.control.clock().now);
      for (const job of sim.control.jobs().recent) {
        if (busyAtSwitch.has(job.id) && job.completedAt !== null) lastFinish.set(job.id, Date.parse(job.completedAt));
      }
      if (drainEveryMinutes !== undefined && now >= nextDrain) {
        nextDrain = now + drainEveryMinutes * 60_000;
        for (const mig of migs) {
          const keepTemplate = templateName(sim.fleet.namePrefix, mig.group, mig.type, VERSION);
          const result = await inActivity(() =>
            activities.drainIdleRunners({ mig: { region: mig.region, name: mig.name }, keepTemplate }),
          );
          drained += result.drained.length;
        }
      }
      if (converged(sim, VERSION)) {
        convergedAt = now;
        break;
      }
    }
    const longestJob = Math.max(0, ...[...lastFinish.values()].map((finish) => finish - switchedAt));
    const limitMs = longestJob + (TIMINGS.bootSeconds + TIMINGS.registerSeconds) * 1000;
    return {
      policy,
      minutes: convergedAt === undefined ? undefined : (convergedAt - switchedAt) / 60_000,
      limitMinutes: limitMs / 60_000,
      drained,
    };
  } finally {
    await sim.close();
  }
}

function converged(sim: SimulatorHandle, version: string): boolean {
  return sim.control
    .state()
    .migs.filter((mig) => mig.environment === 'prod')
    .every((mig) => {
      const templates = Object.keys(mig.instancesByTemplate);
      const runners = mig.instances.filter((instance) => instance.runner !== null);
      return (
        mig.versionTargetReached &&
        templates.every((template) => template.endsWith(version)) &&
        runners.every((instance) => instance.template.endsWith(version))
      );
    });
}

console.log('convergence of the default prod fleet after promotion, in simulated time (step 15 s)');
for (const [load, jobsPerHour] of [
  ['busy fleet (20 jobs/h per pool, 40 min mean)', 20],
  ['quiet fleet (3 jobs/h per pool, 40 min mean)', 3],
] as const) {
  console.log(load);
  for (const [policy, every] of [
    ['natural turnover only', undefined],
    ['idle drain every 10 minutes (production cadence)', 10],
    ['idle drain every 2 minutes', 2],
  ] as const) {
    const result = await converge(policy, every, jobsPerHour);
    const took = result.minutes === undefined ? `not within ${GIVE_UP_HOURS} h` : `${result.minutes.toFixed(1)} min`;
    const ratio = result.minutes === undefined ? '-' : (result.minutes / result.limitMinutes).toFixed(2);
    console.log(
      `  ${policy}: ${took}; physical limit ${result.limitMinutes.toFixed(1)} min (longest busy job + boot); ratio ${ratio}; ${result.drained} idle runners drained`,
    );
  }
}
