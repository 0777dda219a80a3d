import { z } from 'zod';

import { templateName } from '../runner-config/naming.js';
import { ENVIRONMENTS } from '../runner-config/types.js';
import {
  behaviourOverridesSchema,
  profileSchema,
  resolveBehaviours,
  type BehaviourOverrides,
  type Behaviours,
} from './behaviours.js';
import { ControlApiError, ModelError } from './errors.js';
import { endpointMatches, faultConfigSchema, type FaultConfig, type FaultConfigInput } from './faults.js';
import type { FleetModel } from './fleet-model.js';
import { fleetTemplateProperties } from './fleet-templates.js';
import type { JobCounts, SimInstance, SimJob, SimMig } from './fleet-types.js';
import { isStable, isVersionTargetReached, liveInstances } from './mig-status.js';
import type { JobRateRule } from './options.js';
import { ReleaseError, type PublishReleaseInput, type RunnerReleaseRecord } from './releases.js';
import type { EndpointCounter, MutationLogEntry, RequestLog, Route } from './server.js';

export interface ClockView {
  readonly now: string;
  readonly speed: number;
  readonly pendingEvents: number;
}

export interface AdvanceResult {
  readonly now: string;
  readonly processedEvents: number;
}

export interface InstanceView {
  readonly name: string;
  readonly zone: string;
  readonly template: string;
  readonly version: string;
  /** Undefined (null in JSON) while the VM does not exist yet, e.g. during a stockout. */
  readonly status: string | null;
  readonly currentAction: string;
  readonly createdAt: string;
  readonly recreations: number;
  readonly runner: {
    readonly id: number;
    readonly busy: boolean;
    readonly version: string;
    readonly jobId: number | null;
  } | null;
  readonly lastAttemptErrors: ReadonlyArray<{ readonly code: string; readonly message: string }>;
}

export interface MigView {
  readonly name: string;
  readonly region: string;
  readonly environment: string;
  readonly group: string;
  readonly type: string;
  readonly shape: string;
  readonly targetSize: number;
  readonly fingerprint: string;
  readonly versions: ReadonlyArray<{
    readonly name: string;
    readonly template: string;
    readonly targetSize?: { fixed?: number; percent?: number };
  }>;
  readonly updatePolicy: {
    readonly type: string;
    readonly minimalAction: string;
    readonly mostDisruptiveAllowedAction: string;
  };
  readonly isStable: boolean;
  readonly versionTargetReached: boolean;
  readonly recreations: number;
  readonly autoscaler: {
    readonly min: number;
    readonly max: number;
    readonly mode: string;
    readonly recommendedSize: number;
  };
  readonly instancesByTemplate: Readonly<Record<string, number>>;
  readonly instances: readonly InstanceView[];
}

export interface JobView {
  readonly id: number;
  readonly pool: string;
  readonly queuedAt: string;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly runnerName: string | null;
  readonly mig: string | null;
  readonly template: string | null;
  readonly conclusion: string | null;
  readonly killedBy: string | null;
}

export interface JobsView {
  readonly rates: readonly JobRateRule[];
  readonly pools: ReadonlyArray<{
    readonly pool: string;
    readonly perHour: number;
    readonly meanDurationMinutes: number;
    readonly queued: number;
    readonly idleRunners: number;
  }>;
  readonly byTemplate: Readonly<Record<string, JobCounts>>;
  readonly running: readonly JobView[];
  readonly killed: readonly JobView[];
  /** The most recently finished jobs (at most 200), oldest first. */
  readonly recent: readonly JobView[];
}

export interface ReleaseView {
  readonly version: string;
  readonly publishedAt: string;
  readonly security: boolean;
  readonly digestMismatch: boolean;
  readonly withoutShaLines: boolean;
  readonly prerelease: boolean;
  readonly draft: boolean;
}

export interface TemplateView {
  readonly name: string;
  readonly createdAt: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface SimState {
  readonly now: string;
  readonly speed: number;
  readonly project: string;
  readonly org: string;
  readonly templates: readonly TemplateView[];
  readonly migs: readonly MigView[];
  readonly runners: {
    readonly total: number;
    readonly busy: number;
    readonly byVersion: Readonly<Record<string, number>>;
  };
  readonly behaviours: Behaviours;
  readonly faults: FaultConfig;
  readonly releases: readonly ReleaseView[];
  readonly jobs: JobsView;
}

export interface CreateTemplateInput {
  readonly group: string;
  readonly type: string;
  /** Template version; the name is `<prefix>-<group>-<type>-<version>` unless `name` is given. */
  readonly version?: string;
  readonly name?: string;
  /** `github-runner-version` metadata; defaults to the fleet's runner version. */
  readonly runnerVersion?: string;
  readonly configRef?: string;
  /** Extra or overriding metadata items. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface SubmitJobsInput {
  readonly environment: 'prod' | 'testing';
  readonly group: string;
  readonly type: string;
  readonly count?: number;
  readonly durationMinutes?: number;
}

const jobRateSchema = z
  .object({
    environment: z.enum(ENVIRONMENTS).optional(),
    group: z.string().min(1).optional(),
    type: z.string().min(1).optional(),
    perHour: z.number().min(0).max(100_000),
    meanDurationMinutes: z
      .number()
      .positive()
      .max(7 * 24 * 60),
  })
  .strict();
const advanceSchema = z
  .object({
    seconds: z
      .number()
      .min(0)
      .max(365 * 24 * 3600),
  })
  .strict();
const speedSchema = z.object({ speed: z.number().min(0).max(1_000_000) }).strict();
const releaseSchema = z
  .object({
    version: z.string().min(1),
    publishedAt: z.string().optional(),
    security: z.boolean().optional(),
    digestMismatch: z.boolean().optional(),
    withoutShaLines: z.boolean().optional(),
    prerelease: z.boolean().optional(),
    draft: z.boolean().optional(),
  })
  .strict();
const templateSchema = z
  .object({
    group: z.string().min(1),
    type: z.string().min(1),
    version: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    runnerVersion: z.string().min(1).optional(),
    configRef: z.string().min(1).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .refine((input) => input.version !== undefined || input.name !== undefined, { message: 'give a version or a name' });
const submitSchema = z
  .object({
    environment: z.enum(ENVIRONMENTS),
    group: z.string().min(1),
    type: z.string().min(1),
    count: z.number().int().positive().max(10_000).optional(),
    durationMinutes: z
      .number()
      .positive()
      .max(7 * 24 * 60)
      .optional(),
  })
  .strict();

function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input ?? {});
  if (!result.success) throw new ControlApiError(400, `invalid ${what}: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** The simulator's control surface, used by the `/_sim/` routes and directly by tests through the handle. */
export class SimulatorControl {
  constructor(
    private readonly model: FleetModel,
    private readonly log: RequestLog,
  ) {}

  clock(): ClockView {
    this.model.catchUp();
    return {
      now: iso(this.model.now()),
      speed: this.model.clock.getSpeed(),
      pendingEvents: this.model.pendingEvents(),
    };
  }

  /** Moves simulated time forward, running every lifecycle event that falls due, in time order. */
  advance(seconds: number): AdvanceResult {
    parse(advanceSchema, { seconds }, 'clock advance');
    this.model.catchUp();
    const processedEvents = this.model.advance(seconds);
    return { now: iso(this.model.now()), processedEvents };
  }

  setSpeed(speed: number): ClockView {
    parse(speedSchema, { speed }, 'clock speed');
    this.model.catchUp();
    this.model.clock.setSpeed(speed);
    return this.clock();
  }

  behaviours(): Behaviours {
    return this.model.behaviours;
  }

  /** Switches the named behaviours, leaving the others as they are. */
  patchBehaviours(input: BehaviourOverrides): Behaviours {
    const valid = parse(behaviourOverridesSchema, input, 'behaviours');
    this.model.catchUp();
    return this.model.setBehaviours(stripUndefined(valid) as BehaviourOverrides);
  }

  /** Starts over from a whole profile, with optional single switches on top. */
  setProfile(input: { profile: string; behaviours?: BehaviourOverrides }): Behaviours {
    const valid = parse(
      z.object({ profile: profileSchema, behaviours: behaviourOverridesSchema.optional() }).strict(),
      input,
      'profile',
    );
    this.model.catchUp();
    const overrides = stripUndefined(valid.behaviours ?? {}) as BehaviourOverrides;
    return this.model.setBehaviours(resolveBehaviours(valid.profile, overrides));
  }

  faults(): FaultConfig {
    return this.model.faults.current;
  }

  /** Replaces the whole fault configuration (omitted fields are cleared). */
  setFaults(input: FaultConfigInput): FaultConfig {
    this.model.faults.replace(parse(faultConfigSchema, input, 'fault configuration'));
    return this.faults();
  }

  /** Replaces only the top-level fault fields given. */
  patchFaults(input: FaultConfigInput): FaultConfig {
    const merged = { ...this.model.faults.current, ...(input as Record<string, unknown>) };
    return this.setFaults(merged);
  }

  clearFaults(): FaultConfig {
    return this.setFaults({});
  }

  counters(): Record<string, EndpointCounter> {
    return Object.fromEntries(
      [...this.log.counters].map(([endpoint, counter]) => [endpoint, structuredClone(counter)]),
    );
  }

  resetCounters(): void {
    this.log.counters = new Map();
  }

  /** Mutating API requests, oldest first; `since` skips entries with seq ≤ since; `endpoint` may use `*`. */
  mutations(filter: { since?: number; endpoint?: string } = {}): MutationLogEntry[] {
    return this.log.mutations.filter(
      (entry) =>
        (filter.since === undefined || entry.seq > filter.since) &&
        (filter.endpoint === undefined || endpointMatches(filter.endpoint, entry.endpoint)),
    );
  }

  releases(): ReleaseView[] {
    return this.model.releases.all().map(releaseView);
  }

  publishRelease(input: PublishReleaseInput): ReleaseView {
    const valid = parse(releaseSchema, input, 'release');
    this.model.catchUp();
    try {
      const release = this.model.releases.publish(stripUndefined(valid) as PublishReleaseInput, this.model.now());
      return releaseView(release);
    } catch (error) {
      if (error instanceof ReleaseError)
        throw new ControlApiError(error.message.includes('already exists') ? 409 : 400, error.message);
      throw error;
    }
  }

  /** Creates an instance template out of band, with the fleet's properties for its group and type. */
  createTemplate(input: CreateTemplateInput): TemplateView {
    const valid = parse(templateSchema, input, 'template');
    const fleet = this.model.fleet;
    if (!fleet.groups.some((group) => group.name === valid.group)) {
      throw new ControlApiError(
        400,
        `unknown group "${valid.group}" (fleet groups: ${fleet.groups.map((g) => g.name).join(', ')})`,
      );
    }
    if (!fleet.types.some((type) => type.name === valid.type)) {
      throw new ControlApiError(
        400,
        `unknown type "${valid.type}" (fleet types: ${fleet.types.map((t) => t.name).join(', ')})`,
      );
    }
    const version = valid.version ?? '';
    let name: string;
    try {
      name = valid.name ?? templateName(fleet.namePrefix, valid.group, valid.type, version);
    } catch (error) {
      throw new ControlApiError(400, error instanceof Error ? error.message : String(error));
    }
    const configRef =
      valid.configRef ?? (/^[0-9a-f]{10}-/.test(version) ? version.slice(0, 10) : fleet.github.configRef);
    const properties = fleetTemplateProperties(fleet, valid.group, valid.type, version, {
      configRef,
      ...(valid.runnerVersion === undefined ? {} : { runnerVersion: valid.runnerVersion }),
      ...(valid.metadata === undefined ? {} : { metadata: valid.metadata }),
    });
    this.model.catchUp();
    try {
      return templateView(this.model.insertTemplate(name, properties));
    } catch (error) {
      if (error instanceof ModelError) throw new ControlApiError(409, error.message);
      throw error;
    }
  }

  setJobRates(rates: readonly JobRateRule[]): readonly JobRateRule[] {
    const valid = parse(z.array(jobRateSchema), rates, 'job rates');
    this.model.catchUp();
    this.model.setJobRates(valid.map((rule) => stripUndefined(rule) as JobRateRule));
    return this.model.rates;
  }

  /** Queues jobs now; each starts at once on an idle runner of its pool or waits for the autoscaler. */
  submitJobs(input: SubmitJobsInput): JobView[] {
    const valid = parse(submitSchema, input, 'job submission');
    this.model.catchUp();
    try {
      const jobs = this.model.submitJobs(
        `${valid.environment}/${valid.group}/${valid.type}`,
        valid.count ?? 1,
        valid.durationMinutes,
      );
      return jobs.map(jobView);
    } catch (error) {
      if (error instanceof ModelError) throw new ControlApiError(404, error.message);
      throw error;
    }
  }

  jobs(): JobsView {
    this.model.catchUp();
    const running: SimJob[] = [];
    for (const runner of this.model.runners.values()) if (runner.job !== undefined) running.push(runner.job);
    return {
      rates: this.model.rates,
      pools: [...this.model.pools.values()].map((pool) => ({
        pool: pool.key,
        perHour: pool.perHour,
        meanDurationMinutes: pool.meanDurationMs / 60_000,
        queued: pool.queue.length,
        idleRunners: pool.idle.size,
      })),
      byTemplate: Object.fromEntries(
        [...this.model.jobCountsByTemplate].map(([template, counts]) => [template, { ...counts }]),
      ),
      running: running.sort((a, b) => a.id - b.id).map(jobView),
      killed: this.model.killedJobs.map(jobView),
      recent: this.model.recentJobs.slice(-200).map(jobView),
    };
  }

  mig(name: string): MigView {
    this.model.catchUp();
    const mig = this.model.migs.get(name);
    if (mig === undefined) throw new ControlApiError(404, `no MIG named "${name}"`);
    return this.migView(mig);
  }

  state(): SimState {
    this.model.catchUp();
    const byVersion: Record<string, number> = {};
    let busy = 0;
    for (const runner of this.model.runners.values()) {
      byVersion[runner.version] = (byVersion[runner.version] ?? 0) + 1;
      if (runner.busy) busy++;
    }
    return {
      now: iso(this.model.now()),
      speed: this.model.clock.getSpeed(),
      project: this.model.fleet.project,
      org: this.model.fleet.github.org,
      templates: [...this.model.templates.values()].map(templateView),
      migs: [...this.model.migs.values()].map((mig) => this.migView(mig)),
      runners: { total: this.model.runners.size, busy, byVersion },
      behaviours: this.behaviours(),
      faults: this.faults(),
      releases: this.releases(),
      jobs: this.jobs(),
    };
  }

  private migView(mig: SimMig): MigView {
    const instancesByTemplate: Record<string, number> = {};
    for (const instance of liveInstances(mig)) {
      instancesByTemplate[instance.template] = (instancesByTemplate[instance.template] ?? 0) + 1;
    }
    return {
      name: mig.name,
      region: mig.region,
      environment: mig.ref.environment,
      group: mig.ref.group,
      type: mig.ref.type,
      shape: mig.shape,
      targetSize: mig.targetSize,
      fingerprint: mig.fingerprint,
      versions: mig.versions.map((version) => ({ ...version })),
      updatePolicy: {
        type: mig.updatePolicy.type,
        minimalAction: mig.updatePolicy.minimalAction,
        mostDisruptiveAllowedAction: mig.updatePolicy.mostDisruptiveAllowedAction,
      },
      isStable: isStable(mig),
      versionTargetReached: isVersionTargetReached(mig),
      recreations: mig.recreations,
      autoscaler: {
        min: mig.autoscaler.min,
        max: mig.autoscaler.max,
        mode: mig.autoscaler.mode,
        recommendedSize: mig.autoscaler.recommendedSize,
      },
      instancesByTemplate,
      instances: [...mig.instances.values()].map(instanceView),
    };
  }
}

/** The `/_sim/` routes: a thin JSON wrapper over SimulatorControl. */
export function controlRoutes(control: SimulatorControl): Route[] {
  const route = (method: string, path: string, handle: Route['handle']): Route => ({
    api: 'control',
    method,
    path: `/_sim${path}`,
    endpoint: `sim${path.replace(/\/:?/g, '.')}.${method.toLowerCase()}`,
    handle,
  });
  const ok = (body: unknown, status = 200): ReturnType<Route['handle']> => ({ status, body });
  return [
    route('GET', '/state', () => ok(control.state())),
    route('GET', '/migs/:name', (request) => ok(control.mig(request.params['name'] ?? ''))),
    route('GET', '/clock', () => ok(control.clock())),
    route('POST', '/clock/advance', (request) => ok(control.advance(field(request.body, 'seconds')))),
    route('POST', '/clock/speed', (request) => ok(control.setSpeed(field(request.body, 'speed')))),
    route('GET', '/behaviours', () => ok(control.behaviours())),
    route('PATCH', '/behaviours', (request) => ok(control.patchBehaviours(request.body ?? {}))),
    route('PUT', '/behaviours', (request) => ok(control.setProfile(request.body as { profile: string }))),
    route('GET', '/faults', () => ok(control.faults())),
    route('PUT', '/faults', (request) => ok(control.setFaults(request.body ?? {}))),
    route('PATCH', '/faults', (request) => ok(control.patchFaults(request.body ?? {}))),
    route('DELETE', '/faults', () => ok(control.clearFaults())),
    route('GET', '/counters', () => ok({ counters: control.counters() })),
    route('DELETE', '/counters', () => {
      control.resetCounters();
      return ok({ counters: control.counters() });
    }),
    route('GET', '/mutations', (request) => {
      const since = request.query.get('since');
      const endpoint = request.query.get('endpoint');
      if (since !== null && !/^\d+$/.test(since))
        throw new ControlApiError(400, `since must be a sequence number, got "${since}"`);
      return ok({
        mutations: control.mutations({
          ...(since === null ? {} : { since: Number(since) }),
          ...(endpoint === null ? {} : { endpoint }),
        }),
      });
    }),
    route('GET', '/releases', () => ok({ releases: control.releases() })),
    route('POST', '/releases', (request) => ok(control.publishRelease(request.body as PublishReleaseInput), 201)),
    route('POST', '/templates', (request) => ok(control.createTemplate(request.body as CreateTemplateInput), 201)),
    route('GET', '/jobs', () => ok(control.jobs())),
    route('PUT', '/jobs/rates', (request) => ok({ rates: control.setJobRates(field(request.body, 'rates')) })),
    route('POST', '/jobs', (request) => ok({ jobs: control.submitJobs(request.body as SubmitJobsInput) }, 201)),
  ];
}

/** Reads one field of a JSON object body; the control methods validate its value. */
function field<T>(body: unknown, name: string): T {
  if (body === null || typeof body !== 'object' || !(name in body)) {
    throw new ControlApiError(400, `request body must be a JSON object with "${name}"`);
  }
  return (body as Record<string, T>)[name] as T;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : iso(ms);
}

function releaseView(release: RunnerReleaseRecord): ReleaseView {
  return {
    version: release.version,
    publishedAt: iso(release.publishedAt),
    security: release.security,
    digestMismatch: release.digestMismatch,
    withoutShaLines: release.withoutShaLines,
    prerelease: release.prerelease,
    draft: release.draft,
  };
}

function templateView(template: {
  name: string;
  createdAt: number;
  metadata: ReadonlyMap<string, string>;
}): TemplateView {
  return { name: template.name, createdAt: iso(template.createdAt), metadata: Object.fromEntries(template.metadata) };
}

function instanceView(instance: SimInstance): InstanceView {
  const runner = instance.runner;
  return {
    name: instance.name,
    zone: instance.zone,
    template: instance.template,
    version: instance.versionName,
    status: instance.status ?? null,
    currentAction: instance.currentAction,
    createdAt: iso(instance.createdAt),
    recreations: instance.recreations,
    runner:
      runner === undefined
        ? null
        : { id: runner.id, busy: runner.busy, version: runner.version, jobId: runner.job?.id ?? null },
    lastAttemptErrors: instance.lastAttemptErrors.map((error) => ({ ...error })),
  };
}

function jobView(job: SimJob): JobView {
  return {
    id: job.id,
    pool: job.pool,
    queuedAt: iso(job.queuedAt),
    startedAt: isoOrNull(job.startedAt),
    completedAt: isoOrNull(job.completedAt),
    runnerName: job.runnerName ?? null,
    mig: job.mig ?? null,
    template: job.template ?? null,
    conclusion: job.conclusion ?? null,
    killedBy: job.killedBy ?? null,
  };
}
