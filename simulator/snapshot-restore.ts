/**
 * A snapshot's world (snapshot-world.ts) back into a store: entities first, then the references between them,
 * then the pending events. A reference to something the snapshot does not hold means the file was not written
 * by the simulator: the restore stops with a SnapshotError.
 */
import type { FleetEvent } from './fleet-events.js';
import type { FleetStore } from './fleet-store.js';
import { metadataOf } from './fleet-templates.js';
import type { JobPool, SimInstance, SimJob, SimMig, SimRunner } from './fleet-types.js';
import type { EventRecord, WorldRecord } from './snapshot-world.js';

/** A snapshot that cannot be read: another format version, or a corrupt file. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

export function restoreWorld(store: FleetStore, world: WorldRecord): void {
  store.restoreCounters(world.ids, world.now);
  store.faults.restore(world.faults.config, world.faults.remaining);
  store.releases.restore(world.releases.records, world.releases.nextId);
  for (const template of world.templates) {
    store.templates.set(template.name, { ...template, metadata: metadataOf(template.properties) });
  }
  const pools = new Map<string, JobPool>();
  for (const { migs: _migs, queue: _queue, idle: _idle, ...rest } of world.pools) {
    const pool: JobPool = { ...rest, migs: [], queue: [], idle: new Set() };
    pools.set(pool.key, pool);
    store.pools.set(pool.key, pool);
  }
  for (const { pool, autoscaler, ...rest } of world.migs) {
    const mig: SimMig = {
      ...rest,
      pool: found(pools, pool, 'job pool'),
      autoscaler: { ...autoscaler },
      instances: new Map(),
      versions: rest.versions.map((version) => ({ ...version })),
    };
    store.migs.set(mig.name, mig);
    const region = store.migsByRegion.get(mig.region) ?? [];
    region.push(mig);
    store.migsByRegion.set(mig.region, region);
  }
  for (const list of store.migsByRegion.values()) list.sort((a, b) => (a.name < b.name ? -1 : 1));

  const jobs = new Map(world.jobs.map((job): [number, SimJob] => [job.id, { ...job }]));
  const instances = new Map<string, SimInstance>();
  const detached = new Map<string, SimInstance>();
  for (const { mig, runner: _runner, detached: isDetached, ...rest } of world.instances) {
    const owner = found(store.migs, mig, 'MIG');
    const instance: SimInstance = { ...rest, mig: owner, runner: undefined };
    if (isDetached) {
      detached.set(instance.name, instance);
    } else {
      instances.set(instance.name, instance);
      owner.instances.set(instance.name, instance);
      store.instancesByName.set(instance.name, instance);
    }
  }
  const runners = new Map<number, SimRunner>();
  for (const { instance, job, shown, ...rest } of world.runners) {
    const runner: SimRunner = {
      ...rest,
      instance: instances.get(instance) ?? found(detached, instance, 'instance'),
      job: job === null ? undefined : found(jobs, job, 'job'),
    };
    runners.set(runner.id, runner);
    store.runners.set(runner.id, runner);
    store.presence.restoreShown(runner, shown);
  }
  for (const record of world.instances) {
    if (record.runner === null) continue;
    const instance = record.detached ? detached.get(record.name) : instances.get(record.name);
    if (instance !== undefined) instance.runner = found(runners, record.runner, 'runner');
  }
  for (const { key, migs, queue, idle } of world.pools) {
    const pool = found(pools, key, 'job pool');
    pool.migs.push(...migs.map((name) => found(store.migs, name, 'MIG')));
    pool.queue.push(...queue.map((id) => found(jobs, id, 'job')));
    for (const id of idle) pool.idle.add(found(runners, id, 'runner'));
  }
  store.recentJobs.push(...world.recentJobs.map((id) => found(jobs, id, 'job')));
  store.killedJobs.push(...world.killedJobs.map((id) => found(jobs, id, 'job')));
  for (const [template, counts] of world.jobCounts) store.jobCountsByTemplate.set(template, { ...counts });
  for (const operation of world.operations) store.operations.set(operation.name, operation);
  for (const [requestId, name] of world.operationsByRequestId) {
    store.operationsByRequestId.set(requestId, found(store.operations, name, 'operation'));
  }
  const refs = { instances, runners, jobs, pools, migs: store.migs };
  for (const record of world.events) store.schedule(record.at, decodeEvent(record, refs));
}

interface References {
  readonly instances: ReadonlyMap<string, SimInstance>;
  readonly runners: ReadonlyMap<number, SimRunner>;
  readonly jobs: ReadonlyMap<number, SimJob>;
  readonly pools: ReadonlyMap<string, JobPool>;
  readonly migs: ReadonlyMap<string, SimMig>;
}

function decodeEvent(record: EventRecord, refs: References): FleetEvent {
  switch (record.kind) {
    case 'reconcile':
    case 'autoscale':
      return { kind: record.kind, mig: found(refs.migs, record.mig, 'MIG') };
    case 'arrival':
      return { kind: 'arrival', pool: found(refs.pools, record.pool, 'job pool'), chain: record.chain };
    case 'rerun':
      return { kind: 'rerun', pool: found(refs.pools, record.pool, 'job pool'), of: { ...record.of } };
    case 'finishJob':
      return {
        kind: 'finishJob',
        job: found(refs.jobs, record.job, 'job'),
        runner: found(refs.runners, record.runner, 'runner'),
      };
    case 'runnerStopped':
      return { kind: 'runnerStopped', runner: found(refs.runners, record.runner, 'runner'), wasBusy: record.wasBusy };
    case 'expireRunner':
      return { kind: 'expireRunner', runner: found(refs.runners, record.runner, 'runner') };
    case 'instanceGone':
      return { kind: 'instanceGone', instance: found(refs.instances, record.instance, 'instance') };
    case 'crashRegistered':
      return {
        kind: 'crashRegistered',
        instance: found(refs.instances, record.instance, 'instance'),
        runner: found(refs.runners, record.runner, 'runner'),
        life: record.life,
      };
    case 'retryProvision':
    case 'boot':
    case 'crash':
    case 'register':
    case 'recreate':
    case 'selfDelete':
      return { kind: record.kind, instance: found(refs.instances, record.instance, 'instance'), life: record.life };
    default:
      throw new SnapshotError(`an event of unknown kind "${String((record as { kind: unknown }).kind)}"`);
  }
}

function found<Key, Value>(map: ReadonlyMap<Key, Value>, key: Key, what: string): Value {
  const value = map.get(key);
  if (value === undefined) throw new SnapshotError(`it names ${what} ${String(key)}, which it does not hold`);
  return value;
}
