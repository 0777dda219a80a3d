import { z } from 'zod';

import type { Random } from './random.js';

/**
 * What a failing request gets. `status` is a plain error of that status in the API's shape; the others are the
 * specific answers production gives (docs/simulator.md lists each with its source).
 */
export const FAULT_KINDS = [
  'status',
  // GCP Compute
  'forbidden',
  'insufficientPermissions',
  'resourceNotReady',
  'concurrentOperationsQuota',
  // GitHub
  'notAccessibleByIntegration',
  'primaryRateLimit',
  'secondaryRateLimit',
  // Network level, either API
  'connectionReset',
  'hang',
  'truncatedBody',
  'htmlBadGateway',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const endpointFaultSchema = z
  .object({
    /** Endpoint id (`compute.regionInstanceGroupManagers.patch`, `github.runners.list`, …) or a glob with `*`. */
    endpoint: z.string().min(1),
    /** Probability that a matching request fails, drawn from the seeded fault stream. */
    errorRate: z.number().min(0).max(1).default(1),
    kind: z.enum(FAULT_KINDS).default('status'),
    /** For `status`: the HTTP status; for the GitHub limits: 403 (the default) or 429. */
    status: z.number().int().min(400).max(599).default(503),
    /** GitHub limits: the `retry-after` header to send; omitted, none is sent (GitHub does not always send one). */
    retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    /** Compute mutations only: the operation stays PENDING/RUNNING this many simulated seconds before DONE. */
    operationSeconds: z.number().min(0).max(86_400).optional(),
    /** Only the next N matching requests are affected; then the rule is spent. */
    count: z.number().int().positive().optional(),
    /** Extra real milliseconds before a matching request is answered (applies whether or not it fails). */
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    /**
     * Compute mutations only: the request is accepted and returns an Operation, which is DONE carrying this
     * error code (e.g. ZONE_RESOURCE_POOL_EXHAUSTED) and has no effect.
     */
    operationError: z.string().min(1).optional(),
  })
  .strict();

const failingTemplateSchema = z.object({ template: z.string().min(1), failureRate: z.number().min(0).max(1) }).strict();

const stockoutSchema = z.object({ zone: z.string().min(1), type: z.string().min(1).optional() }).strict();

export const faultConfigSchema = z
  .object({
    endpoints: z.array(endpointFaultSchema).default([]),
    /** Extra real milliseconds before every API answer. */
    latencyMs: z.number().int().min(0).max(60_000).default(0),
    /** Instances created from these templates crash before registering; the MIG recreates them on the same template. */
    bootloopTemplates: z.array(z.string().min(1)).default([]),
    /** Instances created from these templates boot and look healthy but never register a runner. */
    neverRegisterTemplates: z.array(z.string().min(1)).default([]),
    /**
     * Instances created from these templates crash after their runner registered, leaving the registration behind
     * offline; the MIG recreates them on the same template, and each new life registers and crashes again.
     */
    crashAfterRegisterTemplates: z.array(z.string().min(1)).default([]),
    /** Jobs run by runners on these templates fail with the given probability. */
    failingTemplates: z.array(failingTemplateSchema).default([]),
    /** No capacity in these zones (for one runner type, or every type when `type` is omitted). */
    stockouts: z.array(stockoutSchema).default([]),
    /** Regional quota of this type's accelerator or CPUs used up: creations fail with QUOTA_EXCEEDED in lastAttempt. */
    quotas: z.array(z.object({ region: z.string().min(1), type: z.string().min(1).optional() }).strict()).default([]),
  })
  .strict();

export type FaultConfig = z.output<typeof faultConfigSchema>;
export type FaultConfigInput = z.input<typeof faultConfigSchema>;
/** A fault rule as written (defaults not yet applied). */
export type EndpointFault = NonNullable<FaultConfigInput['endpoints']>[number];

export interface InjectedFault {
  readonly kind: FaultKind;
  readonly status: number;
  readonly retryAfterSeconds?: number;
  readonly operationSeconds?: number;
  readonly latencyMs: number;
  /** Set when the request fails outright. */
  readonly fail: boolean;
  readonly operationError?: string;
}

/** Holds the active fault configuration and decides, per request, whether to inject a failure. */
export class FaultInjector {
  private config: FaultConfig = faultConfigSchema.parse({});
  /** Remaining uses of `count`-limited endpoint rules, by rule index. */
  private remaining = new Map<number, number>();

  constructor(private readonly random: Random) {}

  get current(): FaultConfig {
    return this.config;
  }

  replace(config: FaultConfig): void {
    this.config = config;
    this.remaining = new Map();
    config.endpoints.forEach((rule, index) => {
      if (rule.count !== undefined) this.remaining.set(index, rule.count);
    });
  }

  /** Remaining uses of the `count`-limited rules, by rule index: with `current`, all a snapshot needs. */
  remainingUses(): Array<[number, number]> {
    return [...this.remaining];
  }

  /** Takes up a snapshot's rules and what is left of the limited ones. */
  restore(config: FaultConfig, remaining: ReadonlyArray<readonly [number, number]>): void {
    this.config = config;
    this.remaining = new Map(remaining);
  }

  /** The latency and failure to apply to one request of `endpoint`; `mutating` allows operation errors. */
  decide(endpoint: string, mutating: boolean): InjectedFault {
    let latencyMs = this.config.latencyMs;
    for (const [index, rule] of this.config.endpoints.entries()) {
      if (!endpointMatches(rule.endpoint, endpoint)) continue;
      const shapesOperation = rule.operationError !== undefined || rule.operationSeconds !== undefined;
      if (shapesOperation && (!mutating || !endpoint.startsWith('compute.'))) continue;
      const left = this.remaining.get(index);
      if (left === 0) continue;
      latencyMs += rule.latencyMs ?? 0;
      if (rule.errorRate < 1 && this.random.next() >= rule.errorRate) continue;
      if (left !== undefined) this.remaining.set(index, left - 1);
      // A slow operation is not a failure: the request succeeds and its operation takes its time.
      const fails = rule.operationError === undefined && rule.operationSeconds === undefined;
      return {
        kind: rule.kind,
        status: rule.status,
        latencyMs,
        fail: fails,
        ...(rule.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: rule.retryAfterSeconds }),
        ...(rule.operationSeconds === undefined ? {} : { operationSeconds: rule.operationSeconds }),
        ...(rule.operationError === undefined ? {} : { operationError: rule.operationError }),
      };
    }
    return { kind: 'status', status: 200, latencyMs, fail: false };
  }

  bootloops(template: string): boolean {
    return this.config.bootloopTemplates.includes(template);
  }

  neverRegisters(template: string): boolean {
    return this.config.neverRegisterTemplates.includes(template);
  }

  crashesAfterRegistering(template: string): boolean {
    return this.config.crashAfterRegisterTemplates.includes(template);
  }

  jobFailureRate(template: string): number {
    return this.config.failingTemplates.find((rule) => rule.template === template)?.failureRate ?? 0;
  }

  quotaExceeded(region: string, type: string): boolean {
    return this.config.quotas.some((rule) => rule.region === region && (rule.type === undefined || rule.type === type));
  }

  stockedOut(zone: string, type: string): boolean {
    return this.config.stockouts.some((rule) => rule.zone === zone && (rule.type === undefined || rule.type === type));
  }
}

export function endpointMatches(pattern: string, endpoint: string): boolean {
  if (!pattern.includes('*')) return pattern === endpoint;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(endpoint);
}
