import { z } from 'zod';
import { durationProblem, SOAK_MINIMUM } from './durations.js';
import { ARCHITECTURES, AUTOSCALER_SIGNALS, ENVIRONMENTS, ROLLOUT_POLICIES, TRUST_LEVELS } from './types.js';

/**
 * The fleet file as written (stage 1 of parsing). Everything a single field can get wrong is checked here;
 * everything that relates fields to each other is a rule in rules.ts. Each top-level section, and each entry of
 * the list sections, is its own schema so that parse.ts can check them independently: one broken entry does not
 * hide the mistakes elsewhere.
 */

/** Group and type names become `-`-separated segments of MIG names, so they must not contain `-`. */
export const SEGMENT_NAME_PATTERN = /^[a-z][a-z0-9]*$/;
const segmentName = z
  .string()
  .regex(SEGMENT_NAME_PATTERN, 'must be lowercase letters and digits, starting with a letter (no "-")');

const regionName = z.string().regex(/^[a-z]+-[a-z]+[0-9]+$/, 'must be a GCP region name such as us-west1');
const zoneName = z.string().regex(/^[a-z]+-[a-z]+[0-9]+-[a-z]$/, 'must be a GCP zone name such as us-west1-a');
const nonEmpty = z.string().trim().min(1, 'must not be empty');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
/** YAML reads `defaultSoak: 3` as the number 3: say what it would mean rather than only that it is no string. */
function durationTypeProblem(input: unknown): string {
  return typeof input === 'number'
    ? (durationProblem(String(input)) ?? 'must be a duration string')
    : 'must be a duration such as "3d", "72h" or "90 minutes"';
}
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest: 64 lowercase hex digits');

const bounds = z
  .strictObject({
    min: z.int().min(0, 'must be 0 or more'),
    max: z.int().min(0, 'must be 0 or more'),
  })
  .describe('Autoscaling bounds (the autoscaler only scales out; VMs delete themselves after their job).');

const autoscaler = z
  .strictObject({
    signal: z
      .enum(AUTOSCALER_SIGNALS)
      .describe('cpu: busy VMs scale the MIGs out (queued jobs alone do not); queue: waiting jobs do. Default cpu.'),
  })
  .optional()
  .describe("What this environment's MIG autoscalers scale on.");

export const regionSchema = z.strictObject({
  name: regionName,
  zones: z.array(zoneName).min(1, 'must list at least one zone'),
});

export const groupSchema = z.strictObject({
  name: segmentName,
  trust: z.enum(TRUST_LEVELS),
  serviceAccount: z.email('must be a service account email'),
  allowedEvents: z.array(nonEmpty).describe('GitHub events a job on this group may be triggered by.'),
});

export const typeSchema = z.strictObject({
  name: segmentName,
  machineType: z.string().regex(/^[a-z][a-z0-9]*-[-a-z0-9]+$/, 'must be a GCP machine type such as n1-standard-16'),
  accelerator: z.strictObject({ type: nonEmpty, count: z.int().min(1, 'must be at least 1') }).optional(),
  maintenancePolicy: z
    .enum(['MIGRATE', 'TERMINATE'])
    .optional()
    .describe('Default: TERMINATE with an accelerator, else MIGRATE.'),
  disk: z
    .strictObject({
      type: z.enum(['pd-ssd', 'pd-balanced', 'pd-standard', 'hyperdisk-balanced']).optional(),
      sizeGb: z.int().min(10, 'must be at least 10').optional(),
    })
    .optional()
    .describe('Boot disk (default pd-ssd, 1000 GB).'),
  image: nonEmpty.describe('Boot image name in the project, or a full image path.'),
  arch: z.enum(ARCHITECTURES).optional().describe('Default x64.'),
  rolloutPolicy: z.enum(ROLLOUT_POLICIES).optional().describe('Default canary.'),
  firstRegion: regionName.optional().describe('For direct types: the prod region updated first.'),
  distributionShape: z.enum(['EVEN', 'BALANCED']).optional().describe('Default EVEN.'),
  autoscaling: z
    .strictObject({ prod: bounds.optional(), testing: bounds.optional() })
    .optional()
    .describe("Per-environment bounds overriding the environment's."),
});

const poolKey = {
  environment: z.enum(ENVIRONMENTS),
  group: segmentName.describe('A runner group of groups.'),
  type: segmentName.describe('A runner type of types.'),
};

/** One pool's policy; `mode` decides which fields it has, so a queue pool cannot lack its bounds. */
export const poolSchema = z
  .discriminatedUnion(
    'mode',
    [
      z
        .strictObject({ ...poolKey, mode: z.literal('off') })
        .describe("The MIG autoscaler sizes the pool's MIGs, as without an entry."),
      z
        .strictObject({
          ...poolKey,
          mode: z.literal('queue'),
          min: z.int().min(0, 'must be 0 or more').describe("Fewest VMs of the pool, summed over its MIGs' regions."),
          max: z.int().min(0, 'must be 0 or more').describe("Most VMs of the pool, summed over its MIGs' regions."),
          warm: z
            .int()
            .min(0, 'must be 0 or more')
            .optional()
            .describe('Idle runners kept ready beyond the queued and running jobs (default 0).'),
        })
        .describe("The pool controller sizes the pool's MIGs from the jobs queued and running for it."),
    ],
    { error: 'must have mode "off" or "queue"' },
  )
  .describe('Who sizes the MIGs of one runner group and type in one environment (all its regions).');

export const sections = {
  project: z
    .string()
    .regex(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, 'must be a GCP project id (6-30 of [-a-z0-9], starting with a letter)')
    .describe('GCP project that holds the MIGs and templates.'),
  namePrefix: z
    .string()
    .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-", starting with a letter')
    .optional()
    .describe('Prefix of MIG and template names (default gh-runner).'),
  github: z.strictObject({
    org: nonEmpty.describe('Organisation the runners register with (the registration scope).'),
    configRepo: z
      .string()
      .regex(/^[^/\s]+\/[^/\s]+$/, 'must be <owner>/<repo>')
      .describe('Repository whose runner-config/vm folder VMs fetch at startup.'),
    configRef: nonEmpty.describe('Default ref of configRepo that templates pin.'),
  }),
  services: z.strictObject({
    tokenProxyUrl: httpUrl.describe('Token proxy handing out registration and removal tokens.'),
    selfDeleterUrl: httpUrl.describe('Instance deleter a VM calls to delete itself through its MIG.'),
  }),
  regions: z.array(regionSchema).min(1, 'must list at least one region'),
  environments: z.strictObject({
    prod: z.strictObject({
      regions: z.array(regionName).min(1, 'prod must have at least one region'),
      autoscaling: bounds,
      autoscaler,
    }),
    testing: z.strictObject({
      regions: z.array(regionName),
      autoscaling: bounds.describe('Normal bounds; testing MIGs usually sit at 0..0.'),
      testAutoscaling: bounds.optional().describe('Bounds while a rollout tests a version (e.g. 1..10).'),
      autoscaler,
    }),
  }),
  groups: z.array(groupSchema).min(1, 'must list at least one runner group'),
  types: z.array(typeSchema).min(1, 'must list at least one runner type'),
  runner: z.strictObject({
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a runner release such as 2.319.1 (no leading v)'),
    archiveDigests: z
      .strictObject({ x64: sha256, arm64: sha256 })
      .describe('SHA-256 of actions-runner-linux-<arch>-<version>.tar.gz per architecture.'),
  }),
  pools: z
    .array(poolSchema)
    .optional()
    .describe('Pools sized from the job queue; a pool not listed keeps its MIG autoscaler (mode off).'),
  rollout: z.strictObject({
    defaultSoak: z
      .string({ error: (issue) => durationTypeProblem(issue.input) })
      .refine((text) => durationProblem(text, SOAK_MINIMUM) === undefined, {
        error: (issue) => durationProblem(String(issue.input), SOAK_MINIMUM),
      })
      .describe('How long canaries soak before promotion (a duration such as "3 days").'),
    canarySize: z.int().min(1, 'must be at least 1').optional().describe('Canary VMs per MIG (default 1).'),
  }),
};

export type FleetSectionName = keyof typeof sections;

export const fleetFileSchema = z
  .strictObject(sections)
  .describe('A runner fleet: where its MIGs are and what they run.');

export type FleetFile = z.infer<typeof fleetFileSchema>;

/** Sections that are lists of named entries, checked entry by entry. */
export const listSections = { regions: regionSchema, groups: groupSchema, types: typeSchema, pools: poolSchema };
export type ListSectionName = keyof typeof listSections;
