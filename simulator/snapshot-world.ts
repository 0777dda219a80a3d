/**
 * The fleet's world as plain JSON data, and back: every entity once, references between them by name or id, and
 * the pending events as their kind and the names of what they concern. An event that would do nothing when it
 * ran (its instance deleted or recreated since, its runner gone, its job ended, its arrival chain replaced) is
 * left out rather than pointing at something the snapshot does not hold.
 */
import type { FleetDefinition } from '../runner-config/types.js';
import type { Behaviours } from './behaviours.js';
import type { FaultConfig } from './faults.js';
import type { FleetEvent } from './fleet-events.js';
import type { FleetStore, IdCounters } from './fleet-store.js';
import type {
  JobCounts,
  JobPool,
  SimAutoscaler,
  SimInstance,
  SimJob,
  SimMig,
  SimOperation,
  SimRunner,
} from './fleet-types.js';
import type { JobRateRule } from './options.js';
import type { RunnerReleaseRecord } from './releases.js';
import type { Shown } from './runner-presence.js';

type Plain<T, Omitted extends keyof T, Added> = Omit<T, Omitted> & Added;

export type InstanceRecord = Plain<SimInstance, 'mig' | 'runner', { mig: string; runner: number | null }> & {
  /** Gone from its MIG, kept because the registration it left behind still names it. */
  readonly detached: boolean;
};
export type RunnerRecord = Plain<SimRunner, 'instance' | 'job', { instance: string; job: number | null }> & {
  readonly shown: readonly Shown[];
};
export type MigRecord = Plain<SimMig, 'pool' | 'instances' | 'autoscaler', { pool: string; autoscaler: SimAutoscaler }>;
export type PoolRecord = Plain<JobPool, 'migs' | 'queue' | 'idle', { migs: string[]; queue: number[]; idle: number[] }>;

/** A pending event: the references of `FleetEvent` as names (instances, MIGs), ids (runners, jobs) or keys (pools). */
export type EventRecord = { readonly at: number } & (
  | { kind: 'reconcile' | 'autoscale'; mig: string }
  | { kind: 'arrival'; pool: string; chain: number }
  | { kind: 'rerun'; pool: string; of: { runId: number; attempt: number; meanDurationMs: number } }
  | { kind: 'finishJob'; job: number; runner: number }
  | { kind: 'runnerStopped'; runner: number; wasBusy: boolean }
  | { kind: 'expireRunner'; runner: number }
  | { kind: 'instanceGone'; instance: string }
  | { kind: 'crashRegistered'; instance: string; runner: number; life: number }
  | {
      kind: 'retryProvision' | 'boot' | 'crash' | 'register' | 'recreate' | 'selfDelete';
      instance: string;
      life: number;
    }
);

export interface WorldRecord {
  readonly fleet: FleetDefinition;
  readonly seed: number;
  /** Simulated epoch ms when the snapshot was taken. */
  readonly now: number;
  readonly ids: IdCounters;
  readonly behaviours: Behaviours;
  readonly jobRates: readonly JobRateRule[];
  readonly faults: { readonly config: FaultConfig; readonly remaining: Array<[number, number]> };
  readonly releases: { readonly records: readonly RunnerReleaseRecord[]; readonly nextId: number };
  readonly templates: ReadonlyArray<{
    id: string;
    name: string;
    createdAt: number;
    description: string;
    properties: Readonly<Record<string, unknown>>;
  }>;
  readonly pools: readonly PoolRecord[];
  readonly migs: readonly MigRecord[];
  readonly instances: readonly InstanceRecord[];
  readonly runners: readonly RunnerRecord[];
  readonly jobs: readonly SimJob[];
  readonly recentJobs: readonly number[];
  readonly killedJobs: readonly number[];
  readonly jobCounts: ReadonlyArray<[string, JobCounts]>;
  readonly operations: readonly SimOperation[];
  readonly operationsByRequestId: ReadonlyArray<[string, string]>;
  readonly events: readonly EventRecord[];
}

/** The store's world as plain data; `jobRates` are the job scheduler's, which the store does not hold. */
export function encodeWorld(store: FleetStore, jobRates: readonly JobRateRule[]): WorldRecord {
  const inMap = (instance: SimInstance): boolean => store.instancesByName.get(instance.name) === instance;
  const hasRunner = (runner: SimRunner): boolean => store.runners.get(runner.id) === runner;
  const jobs = new Map<number, SimJob>();
  const keepJob = (job: SimJob): number => {
    jobs.set(job.id, job);
    return job.id;
  };
  const detached = new Set<SimInstance>();
  const runners = [...store.runners.values()].map((runner): RunnerRecord => {
    if (!inMap(runner.instance)) detached.add(runner.instance);
    const { instance, job, ...rest } = runner;
    return {
      ...rest,
      instance: instance.name,
      job: job === undefined ? null : keepJob(job),
      shown: store.presence.shownOf(runner),
    };
  });
  const instance = (one: SimInstance, isDetached: boolean): InstanceRecord => {
    const { mig, runner, ...rest } = one;
    return { ...rest, mig: mig.name, runner: runner === undefined ? null : runner.id, detached: isDetached };
  };
  const pools = [...store.pools.values()].map(({ migs, queue, idle, ...rest }): PoolRecord => ({
    ...rest,
    migs: migs.map((mig) => mig.name),
    queue: queue.map(keepJob),
    idle: [...idle].map((runner) => runner.id),
  }));
  const recentJobs = store.recentJobs.map(keepJob);
  const killedJobs = store.killedJobs.map(keepJob);
  const events = store.scheduledEvents().flatMap(({ at, event }) => {
    const record = encodeEvent(event, { inMap, hasRunner });
    if (record !== undefined && event.kind === 'finishJob') keepJob(event.job);
    return record === undefined ? [] : [{ at, ...record }];
  });
  return {
    fleet: store.fleet,
    seed: store.seed,
    now: store.now(),
    ids: store.idCounters(),
    behaviours: store.behaviours,
    jobRates,
    faults: { config: store.faults.current, remaining: store.faults.remainingUses() },
    releases: { records: store.releases.all(), nextId: store.releases.nextReleaseId },
    templates: [...store.templates.values()].map(({ id, name, createdAt, description, properties }) => ({
      id,
      name,
      createdAt,
      description,
      properties,
    })),
    pools,
    migs: [...store.migs.values()].map(({ pool, instances: _instances, ...rest }) => ({ ...rest, pool: pool.key })),
    instances: [
      ...[...store.instancesByName.values()].map((one) => instance(one, false)),
      ...[...detached].map((one) => instance(one, true)),
    ],
    runners,
    jobs: [...jobs.values()].sort((a, b) => a.id - b.id),
    recentJobs,
    killedJobs,
    jobCounts: [...store.jobCountsByTemplate],
    operations: [...store.operations.values()],
    operationsByRequestId: [...store.operationsByRequestId].map(([requestId, operation]) => [
      requestId,
      operation.name,
    ]),
    events,
  };
}

type EventBody = EventRecord extends infer Record ? (Record extends unknown ? Omit<Record, 'at'> : never) : never;

function encodeEvent(
  event: FleetEvent,
  live: { inMap(instance: SimInstance): boolean; hasRunner(runner: SimRunner): boolean },
): EventBody | undefined {
  switch (event.kind) {
    case 'reconcile':
    case 'autoscale':
      return { kind: event.kind, mig: event.mig.name };
    case 'arrival':
      return event.chain === event.pool.arrivalChain
        ? { kind: 'arrival', pool: event.pool.key, chain: event.chain }
        : undefined;
    case 'rerun': {
      const { runId, attempt, meanDurationMs } = event.of;
      return { kind: 'rerun', pool: event.pool.key, of: { runId, attempt, meanDurationMs } };
    }
    case 'finishJob':
      return event.job.conclusion === undefined && live.hasRunner(event.runner)
        ? { kind: 'finishJob', job: event.job.id, runner: event.runner.id }
        : undefined;
    case 'runnerStopped':
      return live.hasRunner(event.runner)
        ? { kind: 'runnerStopped', runner: event.runner.id, wasBusy: event.wasBusy }
        : undefined;
    case 'expireRunner':
      return live.hasRunner(event.runner) ? { kind: 'expireRunner', runner: event.runner.id } : undefined;
    case 'instanceGone':
      return live.inMap(event.instance) ? { kind: 'instanceGone', instance: event.instance.name } : undefined;
    case 'crashRegistered':
      return live.inMap(event.instance) && live.hasRunner(event.runner)
        ? { kind: 'crashRegistered', instance: event.instance.name, runner: event.runner.id, life: event.life }
        : undefined;
    default:
      return live.inMap(event.instance)
        ? { kind: event.kind, instance: event.instance.name, life: event.life }
        : undefined;
  }
}
