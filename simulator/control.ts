import { templateName } from '../runner-config/naming.js';
import { behaviourOverridesSchema, resolveBehaviours, type BehaviourOverrides, type Behaviours } from './behaviours.js';
import { iso } from './clock.js';
import {
  advanceSchema,
  jobRatesSchema,
  parse,
  profileChoiceSchema,
  releaseSchema,
  speedSchema,
  stripUndefined,
  submitSchema,
  templateSchema,
  type CreateTemplateInput,
  type SubmitJobsInput,
} from './control-schemas.js';
import {
  jobView,
  migView,
  releaseView,
  templateView,
  type AdvanceResult,
  type ClockView,
  type JobsView,
  type JobView,
  type MigView,
  type ReleaseView,
  type SimState,
  type TemplateView,
} from './control-views.js';
import { ControlApiError, ModelError } from './errors.js';
import { endpointMatches, faultConfigSchema, type FaultConfig, type FaultConfigInput } from './faults.js';
import type { FleetModel } from './fleet-model.js';
import type { GitHubTraffic, GitHubTrafficView } from './github-traffic.js';
import { fleetTemplateProperties } from './fleet-templates.js';
import type { SimJob } from './fleet-types.js';
import type { JobRateRule } from './options.js';
import { ReleaseError, type PublishReleaseInput } from './releases.js';
import type { EndpointCounter, MutationLogEntry, RequestLog } from './request-log.js';

/** The simulator's control surface, used by the `/_sim/` routes and directly by tests through the handle. */
export class SimulatorControl {
  constructor(
    private readonly model: FleetModel,
    private readonly log: RequestLog,
    private readonly github: GitHubTraffic,
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
    const valid = parse(profileChoiceSchema, input, 'profile');
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

  /** Resets the GitHub traffic record too: both count what a run asked of the APIs. */
  resetCounters(): void {
    this.log.counters = new Map();
    this.model.catchUp();
    this.github.reset();
  }

  /** GitHub requests in simulated time since the counters were last reset: charged per hour, 304s, peaks, refusals. */
  githubTraffic(): GitHubTrafficView {
    this.model.catchUp();
    return this.github.view();
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
    const valid = parse(jobRatesSchema, rates, 'job rates');
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
    return migView(mig);
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
      migs: [...this.model.migs.values()].map((mig) => migView(mig)),
      runners: { total: this.model.runners.size, busy, byVersion },
      behaviours: this.behaviours(),
      faults: this.faults(),
      releases: this.releases(),
      jobs: this.jobs(),
    };
  }
}
