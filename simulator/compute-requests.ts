/** Request bodies of the Compute mutations, parsed and checked with the field-level messages GCE gives. */
import { AUTOSCALER_MODES, canonicalEnum } from './enums.js';
import { ComputeApiError } from './errors.js';
import type { AutoscalerPatch, MigPatch, UpdatePolicy } from './fleet-types.js';
import type { VersionSpec } from './versions.js';

/**
 * A MIG holds at most two versions: the rolling-update guide lets an update name a base and one canary version
 * (https://cloud.google.com/compute/docs/instance-groups/rolling-out-updates-to-managed-instance-groups#starting_a_canary_update),
 * and GCE refuses a third at the request, before any operation exists.
 */
export function checkVersionCount(patch: MigPatch): void {
  const count = patch.versions?.length ?? 0;
  if (count <= 2) return;
  throw new ComputeApiError(
    400,
    'invalid',
    `Invalid value for field 'resource.versions': ${count} versions were specified. An instance group manager can have at most 2 versions.`,
  );
}

/** A request value as text for an error message. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ComputeApiError(400, 'parseError', 'Invalid JSON payload received. Expected an object.');
  }
  return body as Record<string, unknown>;
}

/** Short name of a template given as a URL, a partial URL or a bare name. */
function templateNameOf(value: string): string {
  return value.slice(value.lastIndexOf('/') + 1);
}

function nonNegativeInt(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > max) {
    throw new ComputeApiError(
      400,
      'invalid',
      `Invalid value for field '${field}': '${shown(value)}'. Must be an integer from 0 to ${max}.`,
    );
  }
  return number;
}

function parseFixedOrPercent(value: unknown, field: string): { fixed?: number; percent?: number } | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ComputeApiError(400, 'invalid', `Invalid value for field '${field}': expected {fixed} or {percent}.`);
  }
  const record = value as Record<string, unknown>;
  const fixed = nonNegativeInt(record['fixed'], `${field}.fixed`);
  const percent = nonNegativeInt(record['percent'], `${field}.percent`, 100);
  if (fixed !== undefined && percent !== undefined) {
    throw new ComputeApiError(
      400,
      'invalid',
      `Invalid value for field '${field}': set either fixed or percent, not both.`,
    );
  }
  // The client sends unset message fields as {}: that is "not set", not "zero".
  if (fixed === undefined && percent === undefined) return undefined;
  return fixed !== undefined ? { fixed } : { percent: percent ?? 0 };
}

export function parseMigPatch(body: unknown): MigPatch {
  const record = objectBody(body);
  const patch: { -readonly [K in keyof MigPatch]: MigPatch[K] } = {};
  if (typeof record['fingerprint'] === 'string' && record['fingerprint'] !== '')
    patch.fingerprint = record['fingerprint'];
  const versions = record['versions'];
  if (versions !== undefined && versions !== null) {
    if (!Array.isArray(versions))
      throw new ComputeApiError(400, 'invalid', "Invalid value for field 'resource.versions': expected a list.");
    // An empty list is how the client encodes "not set".
    if (versions.length > 0) {
      patch.versions = versions.map((raw: unknown, index): VersionSpec => {
        const field = `resource.versions[${index}]`;
        if (raw === null || typeof raw !== 'object')
          throw new ComputeApiError(400, 'invalid', `Invalid value for field '${field}'.`);
        const version = raw as Record<string, unknown>;
        const template = version['instanceTemplate'];
        if (typeof template !== 'string' || template === '') {
          throw new ComputeApiError(400, 'required', `Required field '${field}.instanceTemplate' not specified`);
        }
        const targetSize = parseFixedOrPercent(version['targetSize'], `${field}.targetSize`);
        return {
          name: typeof version['name'] === 'string' ? version['name'] : '',
          template: templateNameOf(template),
          ...(targetSize === undefined ? {} : { targetSize }),
        };
      });
    }
  }
  const policy = record['updatePolicy'];
  if (policy !== undefined && policy !== null) {
    if (typeof policy !== 'object' || Array.isArray(policy)) {
      throw new ComputeApiError(400, 'invalid', "Invalid value for field 'resource.updatePolicy': expected an object.");
    }
    const raw = policy as Record<string, unknown>;
    const update: Partial<UpdatePolicy> = {};
    for (const key of [
      'type',
      'minimalAction',
      'mostDisruptiveAllowedAction',
      'replacementMethod',
      'instanceRedistributionType',
    ] as const) {
      const value = raw[key];
      if (typeof value === 'string' && value !== '') update[key] = value;
    }
    const maxSurge = parseFixedOrPercent(raw['maxSurge'], 'resource.updatePolicy.maxSurge');
    if (maxSurge !== undefined) update.maxSurge = maxSurge;
    const maxUnavailable = parseFixedOrPercent(raw['maxUnavailable'], 'resource.updatePolicy.maxUnavailable');
    if (maxUnavailable !== undefined) update.maxUnavailable = maxUnavailable;
    patch.updatePolicy = update;
  }
  const targetSize = nonNegativeInt(record['targetSize'], 'resource.targetSize', 2000);
  if (targetSize !== undefined) patch.targetSize = targetSize;
  return patch;
}

/** `anyCase`: the `lowerCaseEnums` behaviour (enums.ts). */
export function parseAutoscalerPatch(body: unknown, anyCase: boolean): AutoscalerPatch {
  const record = objectBody(body);
  const policy = record['autoscalingPolicy'];
  if (policy === undefined || policy === null) return {};
  if (typeof policy !== 'object' || Array.isArray(policy)) {
    throw new ComputeApiError(
      400,
      'invalid',
      "Invalid value for field 'resource.autoscalingPolicy': expected an object.",
    );
  }
  const raw = policy as Record<string, unknown>;
  const min = nonNegativeInt(raw['minNumReplicas'], 'resource.autoscalingPolicy.minNumReplicas', 1000);
  const max = nonNegativeInt(raw['maxNumReplicas'], 'resource.autoscalingPolicy.maxNumReplicas', 1000);
  const cool = nonNegativeInt(raw['coolDownPeriodSec'], 'resource.autoscalingPolicy.coolDownPeriodSec', 3600);
  const requestedMode = raw['mode'];
  const mode =
    requestedMode === undefined || requestedMode === ''
      ? undefined
      : canonicalEnum(shown(requestedMode), AUTOSCALER_MODES, anyCase);
  if (requestedMode !== undefined && requestedMode !== '' && mode === undefined) {
    throw new ComputeApiError(
      400,
      'invalid',
      `Invalid value for field 'resource.autoscalingPolicy.mode': '${shown(requestedMode)}'. Must be one of ${AUTOSCALER_MODES.join(', ')}.`,
    );
  }
  const cpu = raw['cpuUtilization'] as { utilizationTarget?: unknown } | undefined;
  const target = typeof cpu?.utilizationTarget === 'number' ? cpu.utilizationTarget : undefined;
  return {
    ...(min === undefined ? {} : { min }),
    ...(max === undefined ? {} : { max }),
    ...(cool === undefined ? {} : { coolDownPeriodSec: cool }),
    // ONLY_UP is the older name of ONLY_SCALE_OUT.
    ...(mode === undefined ? {} : { mode: mode === 'ONLY_UP' ? 'ONLY_SCALE_OUT' : mode }),
    ...(target === undefined ? {} : { cpuUtilizationTarget: target }),
  };
}
