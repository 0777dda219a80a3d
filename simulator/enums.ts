/**
 * Enum fields of the MIG update policy and the autoscaler mode, and `lowerCaseEnums`: GCP accepts an enum value in
 * any case and stores it upper-case. The REST reference lists only the upper-case names
 * (https://cloud.google.com/compute/docs/reference/rest/v1/regionInstanceGroupManagers/patch,
 * https://cloud.google.com/compute/docs/reference/rest/v1/regionAutoscalers/patch), but IREE's own MIG update
 * script sends `"opportunistic"` and `"replace"`
 * (https://github.com/iree-org/iree/blob/41dcee93c7157955d94973addf6770cecf926849/build_tools/github_actions/runner/gcp/update_instance_groups.py)
 * and production takes them, so a strict simulator would fail a call production answers.
 */
const ACTIONS = ['NONE', 'REFRESH', 'RESTART', 'REPLACE'] as const;
/** How disruptive each update action is, for comparing `minimalAction` with `mostDisruptiveAllowedAction`. */
export const ACTION_RANK: Readonly<Record<string, number>> = { NONE: 0, REFRESH: 1, RESTART: 2, REPLACE: 3 };
/** A new template needs REPLACE (the simulator treats every template change as replace-only). */
export const REPLACE_RANK = 3;

export const UPDATE_POLICY_ENUMS = {
  type: ['PROACTIVE', 'OPPORTUNISTIC'],
  minimalAction: ACTIONS,
  mostDisruptiveAllowedAction: ACTIONS,
  replacementMethod: ['SUBSTITUTE', 'RECREATE'],
  instanceRedistributionType: ['NONE', 'PROACTIVE'],
} as const satisfies Record<string, readonly string[]>;

export type UpdatePolicyEnumField = keyof typeof UPDATE_POLICY_ENUMS;

/** ONLY_UP is the older name of ONLY_SCALE_OUT, still accepted. */
export const AUTOSCALER_MODES = ['OFF', 'ON', 'ONLY_SCALE_OUT', 'ONLY_UP'] as const;

/** The value as stored, or undefined when it names none of `allowed` (in any case, where `anyCase`). */
export function canonicalEnum(value: string, allowed: readonly string[], anyCase: boolean): string | undefined {
  if (allowed.includes(value)) return value;
  const upper = value.toUpperCase();
  return anyCase && allowed.includes(upper) ? upper : undefined;
}

export interface EnumProblem {
  readonly field: UpdatePolicyEnumField;
  readonly value: string;
  readonly allowed: readonly string[];
}

/** The policy with every enum field as stored, or the first field whose value is none of its names. */
export function canonicalUpdatePolicy<T extends Record<UpdatePolicyEnumField, string>>(
  policy: T,
  anyCase: boolean,
): T | EnumProblem {
  const canonical = { ...policy };
  for (const field of Object.keys(UPDATE_POLICY_ENUMS) as UpdatePolicyEnumField[]) {
    const allowed = UPDATE_POLICY_ENUMS[field];
    const value = canonicalEnum(policy[field], allowed, anyCase);
    if (value === undefined) return { field, value: policy[field], allowed };
    canonical[field] = value;
  }
  return canonical;
}
