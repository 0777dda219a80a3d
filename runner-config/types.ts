/**
 * The normalised fleet definition: what the engine, the simulator and the CLI work with after a fleet file has
 * been parsed, normalised and validated (see parse.ts). Pure data, safe to pass into workflows.
 */
import type { RolloutTiming } from '../workflows/rollout-contract.js';

export const ENVIRONMENTS = ['prod', 'testing'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const TRUST_LEVELS = ['minimal', 'basic'] as const;
export type TrustLevel = (typeof TRUST_LEVELS)[number];

/** `canary`: two-version canary inside each MIG. `direct`: whole-MIG update, one region first (a100). */
export const ROLLOUT_POLICIES = ['canary', 'direct'] as const;
export type RolloutPolicy = (typeof ROLLOUT_POLICIES)[number];

export const ARCHITECTURES = ['x64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * What a MIG's autoscaler scales on: `cpu`, the VMs' CPU utilisation (GCP's default, and what the fleet's
 * autoscalers do: only busy VMs scale a group out), or `queue`, the jobs waiting for a runner.
 */
export const AUTOSCALER_SIGNALS = ['cpu', 'queue'] as const;
export type AutoscalerSignal = (typeof AUTOSCALER_SIGNALS)[number];

/**
 * Who sizes a pool's MIGs (see pools.ts): `off`, the MIG autoscaler as today (`autoscaler.signal`); `queue`, the
 * pool controller, from GitHub's `workflow_job` webhooks.
 */
export const POOL_MODES = ['off', 'queue'] as const;
export type PoolMode = (typeof POOL_MODES)[number];

export interface AutoscalingBounds {
  readonly min: number;
  readonly max: number;
}

export interface RunnerGroup {
  readonly name: string;
  readonly trust: TrustLevel;
  readonly serviceAccount: string;
  /** GitHub event names a job on this group may be triggered by; the pre-job hook refuses the rest. */
  readonly allowedEvents: readonly string[];
}

export interface RunnerType {
  readonly name: string;
  readonly machineType: string;
  readonly accelerator?: { readonly type: string; readonly count: number };
  readonly maintenancePolicy: 'MIGRATE' | 'TERMINATE';
  readonly disk: { readonly type: string; readonly sizeGb: number };
  readonly image: string;
  readonly arch: Architecture;
  readonly rolloutPolicy: RolloutPolicy;
  /** For `direct` types: the region updated and verified before all others. */
  readonly firstRegion?: string;
  readonly distributionShape: 'EVEN' | 'BALANCED';
  /** Normal autoscaling bounds of this type's MIGs where they differ from the environment's (GPU MIGs: min = max). */
  readonly autoscaling?: Readonly<Partial<Record<Environment, AutoscalingBounds>>>;
}

export interface Region {
  readonly name: string;
  readonly zones: readonly string[];
}

export interface EnvironmentConfig {
  readonly name: Environment;
  /** Regions that have MIGs in this environment. */
  readonly regions: readonly string[];
  /** Normal autoscaling bounds of this environment's MIGs. */
  readonly autoscaling: AutoscalingBounds;
  /** Bounds while a rollout tests a version here (testing: 0..0 normally, raised to e.g. 1..10). */
  readonly testAutoscaling: AutoscalingBounds;
  readonly autoscaler: { readonly signal: AutoscalerSignal };
}

/** The fleet file's policy for one pool: the MIGs of one group and type in one environment. */
export type PoolPolicy =
  | { readonly environment: Environment; readonly group: string; readonly type: string; readonly mode: 'off' }
  | {
      readonly environment: Environment;
      readonly group: string;
      readonly type: string;
      readonly mode: 'queue';
      /** Bounds of the pool's size: its VMs summed over its MIGs (all regions). */
      readonly bounds: AutoscalingBounds;
      /** Idle runners kept ready beyond the jobs waiting and running, within the bounds. */
      readonly warm: number;
    };

export interface RunnerRelease {
  /** GitHub Actions runner version without the leading `v`, e.g. `2.319.1`. */
  readonly version: string;
  readonly archiveDigests: Readonly<Record<Architecture, string>>;
}

export interface FleetDefinition {
  readonly project: string;
  /** Prefix of MIG and template names, `gh-runner`. */
  readonly namePrefix: string;
  readonly github: {
    readonly org: string;
    readonly configRepo: string;
    readonly configRef: string;
  };
  readonly services: {
    readonly tokenProxyUrl: string;
    readonly selfDeleterUrl: string;
  };
  readonly environments: Readonly<Record<Environment, EnvironmentConfig>>;
  readonly groups: readonly RunnerGroup[];
  readonly types: readonly RunnerType[];
  readonly regions: readonly Region[];
  readonly runner: RunnerRelease;
  /** Pools the fleet file names; every other pool is `off`. Fleets built in code may leave it out. */
  readonly pools?: readonly PoolPolicy[];
  readonly rollout: {
    /** Temporal duration string (`3 days`, `72h`). */
    readonly defaultSoak: string;
    readonly canarySize: number;
    /**
     * Intervals that replace the engine's defaults for rollouts that do not set their own. Fleet files do not set
     * them: a worker whose fleet lives in a faster world (the simulator of `rollout dev --speed`) does.
     */
    readonly timing?: Partial<RolloutTiming>;
  };
}

/** Identity of one MIG in the fleet matrix. */
export interface MigRef {
  readonly environment: Environment;
  readonly group: string;
  readonly type: string;
  readonly region: string;
}
