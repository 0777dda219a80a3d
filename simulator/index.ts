/**
 * The fleet simulator: one node:http server speaking the GCP Compute v1 subset (under `/compute/v1/`) and the
 * GitHub REST subset (at the root) the engine uses, over an in-memory runner fleet driven by a controllable
 * clock, with a control API under `/_sim/`. The real `@google-cloud/compute` and `@octokit/rest` clients
 * talk to it with nothing changed but their base URL.
 */
import type { AddressInfo } from 'node:net';

import { defaultFleet } from '../runner-config/default-fleet.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { DEFAULT_PROFILE, resolveBehaviours, type BehaviourOverrides, type ProfileName } from './behaviours.js';
import { SimClock } from './clock.js';
import { computeRoutes } from './compute-api.js';
import { controlRoutes } from './control-routes.js';
import { SimulatorControl } from './control.js';
import type { FaultConfigInput } from './faults.js';
import { FleetModel } from './fleet-model.js';
import { githubRoutes } from './github-api.js';
import { GitHubTraffic } from './github-traffic.js';
import {
  DEFAULT_INITIAL_VERSION,
  DEFAULT_JOB_RATES,
  DEFAULT_SEED,
  DEFAULT_TIMINGS,
  type InitialRelease,
  type JobRateRule,
  type SimulatorTimings,
} from './options.js';
import { RequestLog } from './request-log.js';
import { SimulatorServer } from './server.js';
import { continuedSeed, readSnapshot, SnapshotError, writeSnapshot } from './snapshot.js';
import { WebhookSender, type WebhookTarget } from './webhooks.js';

export type {
  AdvanceResult,
  ClockView,
  InstanceView,
  JobsView,
  JobView,
  MigView,
  ReleaseView,
  SimState,
  TemplateView,
} from './control-views.js';
export type { CreateTemplateInput, SubmitJobsInput } from './control-schemas.js';
export type { BehaviourName, BehaviourOverrides, Behaviours, ProfileName } from './behaviours.js';
export {
  BEHAVIOUR_NAMES,
  DEFAULT_PROFILE,
  ENGINE_DEFECT_WORKAROUNDS,
  PROFILE_NAMES,
  PROFILES,
  resolveBehaviours,
} from './behaviours.js';
export type { FaultConfig, FaultConfigInput, EndpointFault } from './faults.js';
export type { JobRateRule, SimulatorTimings, InitialRelease } from './options.js';
export type { PublishReleaseInput } from './releases.js';
export type { EndpointCounter, MutationLogEntry } from './request-log.js';
export type { GitHubTrafficHour, GitHubTrafficView } from './github-traffic.js';
export {
  DEFAULT_INITIAL_VERSION,
  DEFAULT_JOB_RATES,
  DEFAULT_SEED,
  DEFAULT_TIMINGS,
  WORKDAY_HOURLY,
  WORKDAY_JOB_RATES,
} from './options.js';
export { SimulatorControl } from './control.js';
export { SNAPSHOT_FORMAT_VERSION, SnapshotError } from './snapshot.js';
export { FleetModel } from './fleet-model.js';
export type { WebhookDelivery, WebhookSender, WebhookTarget } from './webhooks.js';

export interface SimulatorOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default: the bundled IREE-shaped fleet (`defaultFleet()`). */
  readonly fleet?: FleetDefinition;
  /** Simulated seconds per real second; 0 freezes time except for explicit advances. Default 1. */
  readonly speed?: number;
  /** Seeds every random choice (job arrivals, durations, names, fault draws). Default 1. */
  readonly seed?: number;
  /** Simulated time at start (Date, ISO string or epoch ms). Default: the real current time. */
  readonly startTime?: Date | string | number;
  /** Version of the initial templates (`<prefix>-<group>-<type>-<initialVersion>`). Default `0000000000-aaa`. */
  readonly initialVersion?: string;
  /** Job arrival rules; default DEFAULT_JOB_RATES (prod busy, testing idle). */
  readonly jobRates?: readonly JobRateRule[];
  /** Lifecycle durations in simulated seconds; unspecified ones come from DEFAULT_TIMINGS. */
  readonly timings?: Partial<SimulatorTimings>;
  /**
   * How like production GCP and GitHub the simulator behaves: `production` (the default) turns every behaviour of
   * docs/simulator.md on, `ideal` answers instantly and without limits. `behaviours` switches single ones.
   */
  readonly profile?: ProfileName;
  readonly behaviours?: BehaviourOverrides;
  /** Faults active from the start. */
  readonly faults?: FaultConfigInput;
  /**
   * The runner releases that exist at start, oldest first. Default: the fleet's runner version, published
   * 20 days before the start.
   */
  readonly releases?: readonly InitialRelease[];
  /** Sends signed `workflow_job` deliveries for every job transition to this receiver. */
  readonly webhook?: WebhookTarget;
  /** Real milliseconds between background catch-ups of the model while time runs (speed > 0). Default 200. */
  readonly tickMs?: number;
  /**
   * Keeps the world in this file: restored from it at start when it exists (then the options that describe the
   * world at the start, from `seed` to `faults`, are the snapshot's), saved every `snapshotEveryMs` of real time
   * and on `close`. A snapshot of another format version, of another fleet definition or corrupt is a
   * SnapshotError, and the file is left as it is.
   */
  readonly snapshotFile?: string;
  /** Default 5,000. */
  readonly snapshotEveryMs?: number;
}

export interface SimulatorHandle {
  /** `http://host:port`: the Compute endpoint lives under `/compute/v1/`, GitHub at the root. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly fleet: FleetDefinition;
  /** Typed equivalents of every `/_sim/` route. */
  readonly control: SimulatorControl;
  /** The live model, for assertions the control views do not cover. */
  readonly model: FleetModel;
  /** `workflow_job` deliveries: `configure` a receiver (or none), `flush` pending ones, read `deliveries`. */
  readonly webhooks: WebhookSender;
  /** Whether the world was restored from `snapshotFile`. */
  readonly restored: boolean;
  /** Writes the world to `snapshotFile` now (nothing without one). */
  save(): void;
  /** Stops listening, drops open connections and stops the clock, after pending webhook deliveries; then saves. */
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const fleet = options.fleet ?? defaultFleet();
  const speed = options.speed ?? 1;
  if (!(speed >= 0)) throw new RangeError(`speed must be a number ≥ 0, got ${String(options.speed)}`);
  const startMs = options.startTime === undefined ? Date.now() : new Date(options.startTime).getTime();
  if (Number.isNaN(startMs)) throw new RangeError(`startTime "${String(options.startTime)}" is not a valid date`);
  const snapshotFile = options.snapshotFile;
  const snapshot = snapshotFile === undefined ? undefined : readSnapshot(snapshotFile, fleet);
  const world = snapshot?.world;
  const clock = new SimClock(world?.now ?? startMs, speed);
  const seed = world === undefined ? (options.seed ?? DEFAULT_SEED) : continuedSeed(world.seed, world.now);
  const modelOptions = {
    fleet,
    seed,
    initialVersion: options.initialVersion ?? DEFAULT_INITIAL_VERSION,
    jobRates: world?.jobRates ?? options.jobRates ?? DEFAULT_JOB_RATES,
    timings: { ...DEFAULT_TIMINGS, ...options.timings },
    releases: options.releases ?? [],
    behaviours: world?.behaviours ?? resolveBehaviours(options.profile ?? DEFAULT_PROFILE, options.behaviours),
  };
  const model = restoring(snapshotFile, () => new FleetModel(clock, modelOptions, world));
  const webhooks = new WebhookSender(model);
  webhooks.configure(options.webhook);
  const log = new RequestLog();
  const githubTraffic = new GitHubTraffic(() => model.now());
  if (snapshot !== undefined) {
    const { counters, mutations, nextSeq } = snapshot.requestLog;
    restoring(snapshotFile, () => {
      log.restore(counters, mutations, nextSeq);
      githubTraffic.restore(snapshot.githubTraffic);
    });
  }
  const control = new SimulatorControl(model, log, githubTraffic);
  if (options.faults !== undefined && snapshot === undefined) control.setFaults(options.faults);
  const save = (): void => {
    if (snapshotFile === undefined) return;
    const requestLog = { counters: control.counters(), mutations: log.mutations, nextSeq: log.nextSeq };
    writeSnapshot(snapshotFile, { world: model.world(), requestLog, githubTraffic: githubTraffic.record() });
  };
  const simulator = new SimulatorServer(
    model,
    log,
    [...controlRoutes(control), ...computeRoutes(model), ...githubRoutes(model)],
    seed,
    githubTraffic,
  );
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    simulator.server.once('error', reject);
    simulator.server.listen(options.port ?? 0, host, () => {
      simulator.server.off('error', reject);
      resolve();
    });
  });
  const ticker = setInterval(() => model.catchUp(), options.tickMs ?? 200);
  ticker.unref();
  const saver = snapshotFile === undefined ? undefined : setInterval(save, options.snapshotEveryMs ?? 5000);
  saver?.unref();
  const port = (simulator.server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    fleet,
    control,
    model,
    webhooks,
    restored: snapshot !== undefined,
    save,
    close: async () => {
      clearInterval(ticker);
      clearInterval(saver);
      webhooks.configure(undefined);
      await webhooks.flush();
      await new Promise<void>((resolve, reject) => {
        simulator.server.close((error) => (error === undefined ? resolve() : reject(error)));
        simulator.server.closeAllConnections();
      });
      save();
    },
  };
}

/** Runs a step of the restore: anything it throws means the snapshot is not what the simulator wrote. */
function restoring<T>(file: string | undefined, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (file === undefined) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new SnapshotError(`the simulator snapshot ${file} is corrupt (${reason})`);
  }
}
