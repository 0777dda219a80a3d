/**
 * The in-memory fleet of MIGs behind the workflow tests' activity mocks (fake-activities.ts): its MIGs and
 * templates, the log of every call in order, and the faults tests inject (unhealthy canaries, runners that never
 * come up, failing calls) or the calls they hold open to act while one is in flight.
 */
import { ApplicationFailure } from '@temporalio/common';
import type {
  CanaryObservations,
  MigLocator,
  MigSnapshot,
  MigUpdateResult,
  MigVersion,
  RolloutActivities,
  RunnerInfo,
} from '../../activities/contract.js';
import { migNameOf, selectMigRefs, templateNameFor, versionTemplates } from '../../runner-config/matrix.js';
import type { AutoscalingBounds, FleetDefinition, MigRef } from '../../runner-config/types.js';

export const OLD_VERSION = '1111111111-old';
export const NEW_VERSION = '2222222222-new';

/**
 * Two groups × (cpu: canary, a100: direct with first region us-central1); prod in 2 regions, testing in 1. Give
 * each test its own project: per-MIG worker ids include it, so tests on one server never share a MIG.
 */
export function testFleet(project = 'test-proj'): FleetDefinition {
  return {
    project,
    namePrefix: 'gh-runner',
    github: { org: 'example-org', configRepo: 'example-org/ci', configRef: 'main' },
    services: { tokenProxyUrl: 'https://proxy.invalid', selfDeleterUrl: 'https://deleter.invalid' },
    environments: {
      prod: {
        name: 'prod',
        regions: ['us-central1', 'us-west1'],
        autoscaling: { min: 1, max: 10 },
        testAutoscaling: { min: 1, max: 10 },
        autoscaler: { signal: 'cpu' },
      },
      testing: {
        name: 'testing',
        regions: ['us-west1'],
        autoscaling: { min: 0, max: 0 },
        testAutoscaling: { min: 1, max: 10 },
        autoscaler: { signal: 'cpu' },
      },
    },
    groups: [
      { name: 'presubmit', trust: 'minimal', serviceAccount: 'minimal@test-proj.invalid', allowedEvents: ['push'] },
      { name: 'postsubmit', trust: 'basic', serviceAccount: 'basic@test-proj.invalid', allowedEvents: ['push'] },
    ],
    types: [
      {
        name: 'cpu',
        machineType: 'n1-standard-96',
        maintenancePolicy: 'MIGRATE',
        disk: { type: 'pd-ssd', sizeGb: 100 },
        image: 'runner-cpu',
        arch: 'x64',
        rolloutPolicy: 'canary',
        distributionShape: 'EVEN',
      },
      {
        name: 'a100',
        machineType: 'a2-highgpu-1g',
        accelerator: { type: 'nvidia-tesla-a100', count: 1 },
        maintenancePolicy: 'TERMINATE',
        disk: { type: 'pd-ssd', sizeGb: 100 },
        image: 'runner-gpu',
        arch: 'x64',
        rolloutPolicy: 'direct',
        firstRegion: 'us-central1',
        distributionShape: 'BALANCED',
      },
    ],
    regions: [
      { name: 'us-central1', zones: ['us-central1-a', 'us-central1-b'] },
      { name: 'us-west1', zones: ['us-west1-a', 'us-west1-b'] },
    ],
    runner: { version: '2.319.1', archiveDigests: { x64: 'aa', arm64: 'bb' } },
    rollout: { defaultSoak: '3 days', canarySize: 1 },
  };
}

export interface FakeMig {
  readonly name: string;
  readonly region: string;
  readonly ref: MigRef;
  versions: MigVersion[];
  autoscaling: AutoscalingBounds;
  /** Template of each instance; every instance runs one idle, online runner. */
  instances: string[];
  isStable: boolean;
  recreations: number;
}

export interface FakeCall {
  readonly activity: keyof RolloutActivities;
  readonly mig?: string;
  readonly detail?: string;
}

const MUTATIONS: ReadonlySet<keyof RolloutActivities> = new Set<keyof RolloutActivities>([
  'canaryMig',
  'promoteCanary',
  'rollbackCanary',
  'directUpdate',
  'setAutoscaling',
  'drainIdleRunners',
  'createTemplates',
]);

/** One canaryHealth call: the observations it was given and the ones it returned. */
export interface FakeHealthCheck {
  readonly mig: string;
  readonly previous: CanaryObservations | undefined;
  readonly returned: CanaryObservations;
}

export class FakeFleet {
  readonly fleet: FleetDefinition;
  readonly migs = new Map<string, FakeMig>();
  readonly templates = new Set<string>();
  readonly calls: FakeCall[] = [];
  /** MIGs whose canary (or direct update) reports unhealthy from now on. */
  readonly unhealthy = new Set<string>();
  /** MIGs whose new runners never register. */
  readonly runnersNeverReady = new Set<string>();
  /** Remaining failures per `activity:mig` key. */
  readonly failures = new Map<string, number>();
  /** Every canaryHealth call in order, with the observations passed in and out. */
  readonly healthChecks: FakeHealthCheck[] = [];
  /** New canary VMs each health check reports having seen (ephemeral VMs come and go between checks). */
  canaryVmsPerCheck = 1;
  /** Old instances one drain replaces (so convergence takes a few rounds). */
  drainBatch = 1;
  /** MIGs without an autoscaler (or with one that scales in): a canary's room there is never made by a surge. */
  readonly notSurgeable = new Set<string>();
  private readonly holds = new Map<string, { reached: () => void; released: Promise<void>; reachedP: Promise<void> }>();

  constructor(fleet: FleetDefinition = testFleet()) {
    this.fleet = fleet;
    for (const version of [OLD_VERSION, NEW_VERSION]) {
      for (const template of versionTemplates(fleet, version)) this.templates.add(template.name);
    }
    for (const environment of ['prod', 'testing'] as const) {
      for (const ref of selectMigRefs(fleet, { environment, regions: 'all', groups: 'all', types: 'all' })) {
        const name = migNameOf(fleet, ref);
        const size = environment === 'testing' ? 0 : ref.type === 'a100' ? 1 : 3;
        const template = templateNameFor(fleet, ref, OLD_VERSION);
        this.migs.set(name, {
          name,
          region: ref.region,
          ref,
          versions: [{ name: 'base', instanceTemplate: template }],
          autoscaling: fleet.environments[environment].autoscaling,
          instances: Array.from({ length: size }, () => template),
          isStable: true,
          recreations: 0,
        });
      }
    }
  }

  mig(name: string): FakeMig {
    const mig = this.migs.get(name);
    if (mig === undefined) throw new Error(`no fake MIG ${name}`);
    return mig;
  }

  migName(ref: MigRef): string {
    return migNameOf(this.fleet, ref);
  }

  template(ref: Pick<MigRef, 'group' | 'type'>, version: string): string {
    return templateNameFor(this.fleet, { environment: 'prod', region: 'us-central1', ...ref }, version);
  }

  mutationCalls(): FakeCall[] {
    return this.calls.filter((call) => MUTATIONS.has(call.activity));
  }

  /**
   * Makes the next call of `activity` (on `mig`, if given) wait until `release()`; `reached` resolves when it
   * started. Held activities stop the time-skipping server from skipping, so tests can act while they run.
   */
  hold(activity: keyof RolloutActivities, mig?: string): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const reachedP = new Promise<void>((resolve) => (reached = resolve));
    this.holds.set(`${activity}:${mig ?? '*'}`, { reached, released, reachedP });
    return { reached: reachedP, release };
  }

  /** Every activity call starts here: logged, then held or failed when the test asked for it. */
  async enter(activity: keyof RolloutActivities, mig?: string, detail?: string): Promise<void> {
    this.calls.push({ activity, ...(mig === undefined ? {} : { mig }), ...(detail === undefined ? {} : { detail }) });
    for (const key of [`${activity}:${mig ?? '*'}`, `${activity}:*`]) {
      const hold = this.holds.get(key);
      if (hold !== undefined) {
        this.holds.delete(key);
        hold.reached();
        await hold.released;
      }
    }
    const failureKey = `${activity}:${mig ?? '*'}`;
    const remaining = this.failures.get(failureKey) ?? 0;
    if (remaining > 0) {
      this.failures.set(failureKey, remaining - 1);
      throw ApplicationFailure.nonRetryable(`injected failure of ${activity} on ${mig ?? 'fleet'}`, 'UNAVAILABLE');
    }
  }

  snapshot(mig: FakeMig): MigSnapshot {
    const instancesByTemplate: Record<string, number> = {};
    for (const template of mig.instances) instancesByTemplate[template] = (instancesByTemplate[template] ?? 0) + 1;
    return {
      name: mig.name,
      region: mig.region,
      ref: mig.ref,
      versions: mig.versions.map((version) => ({ ...version })),
      targetSize: mig.instances.length,
      isStable: mig.isStable,
      versionTargetReached: this.targetReached(mig),
      fingerprint: `fp-${this.calls.length}`,
      distributionShape: mig.ref.type === 'a100' ? 'BALANCED' : 'EVEN',
      instancesByTemplate,
    };
  }

  targetReached(mig: FakeMig): boolean {
    const base = mig.versions.find((version) => version.name === 'base')?.instanceTemplate;
    return mig.versions.length === 1 && mig.instances.every((template) => template === base);
  }

  updateResult(mig: FakeMig, applied: boolean): MigUpdateResult {
    return { mig: { region: mig.region, name: mig.name }, applied, versions: mig.versions.map((v) => ({ ...v })) };
  }

  precondition(message: string): ApplicationFailure {
    return ApplicationFailure.nonRetryable(message, 'PRECONDITION_FAILED');
  }

  runners(mig: FakeMig): RunnerInfo[] {
    return mig.instances.map((template, index) => ({
      id: index + 1,
      name: `${mig.name}-${index}`,
      online: true,
      busy: false,
      labels: [`template=${template}`],
    }));
  }

  locator(name: string): MigLocator {
    const mig = this.mig(name);
    return { region: mig.region, name: mig.name };
  }
}
