/**
 * Canarying every canary-policy prod MIG, side by side, each pattern on a fresh simulator with the same seed, on its
 * production profile (call latency, operation durations, GitHub's limits) at speed 1, with the real clients:
 * - the pattern of IREE's public update_instance_groups.py
 *   (https://github.com/iree-org/iree/blob/41dcee93c7157955d94973addf6770cecf926849/build_tools/github_actions/runner/gcp/update_instance_groups.py):
 *   regions.list, one MIG list per region, then per MIG, one after another, a template get and a blind patch whose
 *   operation it never waits for;
 * - the rollout's activities as the workflows call them: the plan's selection and template check, then per canary
 *   MIG of the plan, in the plan's order, at a concurrency, what its MIG worker runs for the canary command:
 *   `surgeableAutoscaling` (the bounds it records before a surge) and `canaryMig` with a surge where the MIG's
 *   autoscaler allows one, each retried as the workflow's read and mutation options say, with the GitHub client
 *   built as the worker builds it.
 * Prints per pattern the MIGs, GCP calls (in all, per MIG, per endpoint), operation waits, GitHub calls, wall time,
 * when the last operation was DONE, and for the rollout the per-region peaks that GCP's per-region quotas limit;
 * then the wall-time ratio. For the default fleet and the 1,000-MIG fleet across 40 regions.
 *
 *   bash scripts/bench canary-calls [--fleet default|1000]… [--concurrency N]
 */
import { performance } from 'node:perf_hooks';
import { msToNumber, type ActivityOptions } from '@temporalio/common';
import { templateName } from '../runner-config/naming.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { startSimulator, type SimulatorHandle } from '../simulator/index.js';
import { seedVersionTemplates } from '../devstack/simulator.js';
import { createComputeClients } from '../worker/clients.js';
import { mutationOptions, readOptions } from '../workflows/activity-options.js';
import { forEachBounded } from '../workflows/concurrency.js';
import type { RolloutInput } from '../workflows/rollout-contract.js';
import { buildPlan, neededTemplates, resolveSelection } from '../workflows/rollout-plan.js';
import { defaultFleet } from '../runner-config/default-fleet.js';
import { FLEET_1000, scaledFleet } from './fleets.js';
import {
  apiCalls,
  asTemporalActivity,
  benchOptions,
  canaryTypes,
  seconds,
  simulatorActivities,
  wholeNumber,
  type ApiCalls,
} from './harness.js';

const VERSION = '1111111111-bbb';
const SEED = 7;
/**
 * Canary commands in flight at once (the rollout's `maxConcurrency` timing input); docs/benchmarks.md says why 100:
 * a surge makes the room without GitHub, so what bounds the lanes is GCP's per-region limits, which a region's
 * canary MIGs (one operation in flight each) stay far below whatever the concurrency, and a worker's activity
 * slots (100 by default in the Temporal TypeScript SDK).
 */
const DEFAULT_CONCURRENCY = 100;
const FLEETS: Record<string, { readonly label: string; readonly build: () => FleetDefinition }> = {
  default: { label: 'default fleet', build: defaultFleet },
  '1000': { label: '1,000-MIG fleet (40 regions)', build: () => scaledFleet(FLEET_1000) },
};
/** Compute reads sent as POST: the mutation log records them, GCP's rate quotas count them as reads. */
const POSTED_READS = /\.(listManagedInstances|wait)$/;

interface Measured {
  readonly migs: number;
  readonly compute: ApiCalls;
  readonly github: ApiCalls;
  readonly milliseconds: number;
  /** From the start until every operation the pattern started was DONE (simulated time, which is real at speed 1). */
  readonly operationsDoneMs: number;
  /** The longest of those operations, from insertion to DONE. */
  readonly longestOperationMs: number;
  /** Runners deregistered from GitHub, and the time from the first deregistration to the last. */
  readonly deregistrations: { readonly count: number; readonly spanMs: number };
  readonly peaks: RegionPeaks;
  readonly rollout?: {
    readonly retriedAttempts: number;
    readonly longestSilenceMs: number;
    readonly roomMade: number;
    readonly surges: number;
    /** Canary MIGs with a VM on the canary template (being created or running) when the last command ended. */
    readonly withCanaryVm: number;
  };
}

interface RegionPeaks {
  /** Most operations in flight at once in one region. */
  readonly operationsInFlight: number;
  /** Most mutation requests sent to one region within one clock minute (GCP's rate quotas refill each minute). */
  readonly mutationsPerMinute: number;
}

/** A fresh simulator on its production profile at speed 1, with the version's templates, counters reset. */
async function prepare(fleet: FleetDefinition): Promise<SimulatorHandle> {
  const sim = await startSimulator({ fleet, seed: SEED, speed: 1 });
  seedVersionTemplates(sim, VERSION);
  sim.control.resetCounters();
  return sim;
}

/** What the simulator saw of one pattern, from `startedAt` (simulated epoch ms) on. */
function observe(
  sim: SimulatorHandle,
  startedAt: number,
): Pick<Measured, 'operationsDoneMs' | 'longestOperationMs' | 'deregistrations' | 'peaks'> {
  const operations = [...sim.model.operations.values()].filter(
    (operation) => operation.region !== undefined && operation.insertTime >= startedAt,
  );
  const changes = operations
    .flatMap((operation) => [
      { region: operation.region ?? '', at: operation.insertTime, step: 1 },
      { region: operation.region ?? '', at: operation.endTime, step: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.step - b.step);
  const inFlight = new Map<string, number>();
  let operationsInFlight = 0;
  for (const change of changes) {
    const now = (inFlight.get(change.region) ?? 0) + change.step;
    inFlight.set(change.region, now);
    operationsInFlight = Math.max(operationsInFlight, now);
  }
  const perMinute = new Map<string, number>();
  for (const entry of sim.control.mutations({ endpoint: 'compute.*' })) {
    const region = /\/regions\/([^/]+)\//.exec(entry.path)?.[1];
    if (region === undefined || POSTED_READS.test(entry.endpoint)) continue;
    const key = `${region} ${Math.floor(Date.parse(entry.at) / 60_000)}`;
    perMinute.set(key, (perMinute.get(key) ?? 0) + 1);
  }
  const deregistered = sim.control
    .mutations({ endpoint: 'github.runners.delete' })
    .map((entry) => Date.parse(entry.at))
    .filter((at) => at >= startedAt);
  return {
    operationsDoneMs: Math.max(0, ...operations.map((operation) => operation.endTime - startedAt)),
    longestOperationMs: Math.max(0, ...operations.map((operation) => operation.endTime - operation.insertTime)),
    deregistrations: {
      count: deregistered.length,
      spanMs: deregistered.length === 0 ? 0 : Math.max(...deregistered) - Math.min(...deregistered),
    },
    peaks: { operationsInFlight, mutationsPerMinute: Math.max(0, ...perMinute.values()) },
  };
}

async function ireeScriptPattern(fleet: FleetDefinition): Promise<Measured> {
  const sim = await prepare(fleet);
  try {
    const compute = createComputeClients({ project: fleet.project, apiEndpoint: sim.url });
    const project = fleet.project;
    const nameParts = new RegExp(`^${fleet.namePrefix}-([a-z0-9]+)-([a-z0-9]+)-`);
    const startedAt = sim.model.now();
    const started = performance.now();
    const [regions] = await compute.regions.list({ project });
    let migs = 0;
    for (const region of regions) {
      // IREE's script filters with \w+; [a-z0-9]+ matches the same names and needs no escaping.
      const filter = `name eq '${fleet.namePrefix}-[a-z0-9]+-(${canaryTypes(fleet)})-${region.name ?? ''}'`;
      const [found] = await compute.migs.list({ project, region: region.name ?? '', filter });
      for (const mig of found) {
        migs += 1;
        const [, group = '', type = ''] = nameParts.exec(mig.name ?? '') ?? [];
        const [template] = await compute.templates.get({
          project,
          instanceTemplate: templateName(fleet.namePrefix, group, type, VERSION),
        });
        await compute.migs.patch({
          project,
          region: region.name ?? '',
          instanceGroupManager: mig.name ?? '',
          instanceGroupManagerResource: {
            versions: [
              { name: 'base', instanceTemplate: mig.versions?.[0]?.instanceTemplate ?? '' },
              { name: 'canary', instanceTemplate: template.selfLink ?? '', targetSize: { fixed: 1 } },
            ],
          },
        });
      }
    }
    const milliseconds = performance.now() - started;
    return {
      migs,
      compute: apiCalls(sim, 'compute'),
      github: apiCalls(sim, 'github'),
      milliseconds,
      ...observe(sim, startedAt),
    };
  } finally {
    await sim.close();
  }
}

async function rolloutActivities(fleet: FleetDefinition, concurrency: number): Promise<Measured> {
  const sim = await prepare(fleet);
  try {
    // Production timing: the defaults, as the worker runs with them.
    const activities = simulatorActivities(sim, {}, { asWorker: true });
    const input: RolloutInput = {
      version: VERSION,
      requestedBy: 'bench',
      environments: ['prod'],
      types: canaryTypes(fleet),
      timing: { maxConcurrency: concurrency },
    };
    let retriedAttempts = 0;
    let longestSilenceMs = 0;
    let activityIds = 0;
    const run = async <T>(options: ActivityOptions, workflowId: string, call: () => Promise<T>): Promise<T> => {
      activityIds += 1;
      const execution = { workflowId, runId: 'bench' };
      const result = await asTemporalActivity(
        options,
        { activityId: String(activityIds), workflowExecution: execution },
        call,
      );
      retriedAttempts += result.attempts - 1;
      longestSilenceMs = Math.max(longestSilenceMs, result.longestSilenceMs);
      return result.value;
    };
    const startedAt = sim.model.now();
    const started = performance.now();
    // The plan, as the rollout's preflight makes it.
    const { regions, groups, types } = resolveSelection(input);
    const prod = await run(readOptions, 'rollout', () =>
      activities.selectMigs({ environment: 'prod', regions, groups, types }),
    );
    const needed = neededTemplates(fleet, VERSION, { prod });
    const missingTemplates = await run(readOptions, 'rollout', () => activities.missingTemplates(needed.names));
    const plan = buildPlan({ input, fleet, selected: { prod }, missingTemplates, earlierProblems: needed.problems });
    if (plan.problems.length > 0) {
      throw new Error(`the plan has problems: ${plan.problems.map((problem) => problem.message).join('; ')}`);
    }
    // The canary stage: one command per canary MIG, sent to its MIG worker, in the plan's order.
    const canaries = plan.migs.filter((mig) => mig.role === 'canary');
    let roomMade = 0;
    let surges = 0;
    await forEachBounded(canaries, concurrency, async (mig) => {
      const locator = { region: mig.region, name: mig.name };
      const worker = `mig-worker-${mig.name}`;
      const surgeFrom = await run(readOptions, worker, () => activities.surgeableAutoscaling(locator));
      const result = await run(mutationOptions, worker, () =>
        activities.canaryMig({
          mig: locator,
          template: mig.toTemplate,
          canarySize: plan.canarySize,
          ...(surgeFrom === null ? {} : { surge: true }),
        }),
      );
      if (!result.applied) throw new Error(`canary of ${mig.name} was not applied`);
      roomMade += result.madeRoom?.length ?? 0;
      if (result.surgedTo !== undefined) surges += 1;
    });
    const milliseconds = performance.now() - started;
    const withCanaryVm = canaries.filter((mig) =>
      sim.control.mig(mig.name).instances.some((instance) => instance.template === mig.toTemplate),
    ).length;
    return {
      migs: canaries.length,
      compute: apiCalls(sim, 'compute'),
      github: apiCalls(sim, 'github'),
      milliseconds,
      ...observe(sim, startedAt),
      rollout: { retriedAttempts, longestSilenceMs, roomMade, surges, withCanaryVm },
    };
  } finally {
    await sim.close();
  }
}

const options = benchOptions('scripts/bench canary-calls [--fleet default|1000]… [--concurrency N]', {
  fleet: { type: 'string', multiple: true },
  concurrency: { type: 'string' },
});
const concurrency = wholeNumber('concurrency', options.concurrency, DEFAULT_CONCURRENCY);

function calls(api: string, measured: ApiCalls, migs: number): string {
  const endpoints = Object.entries(measured.byEndpoint)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([endpoint, count]) => `${endpoint} ${count} (${(count / migs).toFixed(2)})`);
  return `    ${api} per endpoint (per MIG): ${endpoints.length === 0 ? 'none' : endpoints.join(', ')}`;
}

function report(label: string, m: Measured): string {
  const waits = Object.entries(m.compute.byEndpoint)
    .filter(([endpoint]) => endpoint.endsWith('Operations.wait'))
    .reduce((sum, [, count]) => sum + count, 0);
  const lines = [
    `  ${label}: ${m.migs} MIGs, ${m.compute.total} GCP calls (${(m.compute.total / m.migs).toFixed(2)} per MIG), ` +
      `${waits} operation waits, ${m.github.total} GitHub calls (${(m.github.total / m.migs).toFixed(2)} per MIG), ` +
      `wall ${seconds(m.milliseconds)}; its operations all DONE after ${seconds(m.operationsDoneMs)}`,
    calls('GCP', m.compute, m.migs),
    calls('GitHub', m.github, m.migs),
    `    per region at most: ${m.peaks.operationsInFlight} operations in flight, ` +
      `${m.peaks.mutationsPerMinute} mutation requests in one minute; longest operation ${seconds(m.longestOperationMs)}; ` +
      `${m.deregistrations.count} runner deregistrations sent over ${seconds(m.deregistrations.spanMs)}`,
  ];
  if (m.rollout !== undefined) {
    const timeout = seconds(msToNumber(mutationOptions.heartbeatTimeout ?? 0));
    lines.push(
      `    room made by ${m.rollout.surges} autoscaler surges and ${m.rollout.roomMade} idle VMs replaced, ` +
        `${m.rollout.withCanaryVm} MIGs with a canary VM at the end, ${m.rollout.retriedAttempts} attempts retried, ` +
        `longest heartbeat silence ${seconds(m.rollout.longestSilenceMs)} (heartbeat timeout ${timeout})`,
    );
  }
  return lines.join('\n');
}

// Integer-like keys come first in Object.keys; the default fleet is the smaller one, so it goes first.
for (const name of options.fleet ?? ['default', '1000']) {
  const fleet = FLEETS[name];
  if (fleet === undefined) throw new Error(`unknown fleet "${name}" (known: ${Object.keys(FLEETS).join(', ')})`);
  const iree = await ireeScriptPattern(fleet.build());
  const engine = await rolloutActivities(fleet.build(), concurrency);
  console.log(
    `canary of every canary-policy prod MIG of the ${fleet.label}: a fresh simulator per pattern ` +
      `(seed ${SEED}, production profile, speed 1) on 127.0.0.1`,
  );
  console.log(report('IREE script: per MIG in turn a template get and a blind patch, never waiting', iree));
  console.log(
    report(
      `rollout activities: the plan, then surgeableAutoscaling and canaryMig per MIG (concurrency ${concurrency})`,
      engine,
    ),
  );
  console.log(
    `  wall-time ratio (IREE script ÷ rollout): ${(iree.milliseconds / engine.milliseconds).toFixed(2)}; ` +
      `until every operation is DONE: ${(iree.operationsDoneMs / engine.operationsDoneMs).toFixed(2)}`,
  );
}
