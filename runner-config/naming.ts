import { ENVIRONMENTS, type Environment, type MigRef } from './types.js';

/** GCP resource names are at most 63 characters: `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`. */
export const GCP_NAME_MAX_LENGTH = 63;

const GCP_NAME_PATTERN = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Template version: the first 10 hex digits of the config ref, 3 random `[a-z0-9]`, optionally `-testing`. */
export const VERSION_PATTERN = /^[0-9a-f]{10}-[a-z0-9]{3}(-testing)?$/;

export const BASE_VERSION_NAME = 'base';
export const CANARY_VERSION_NAME = 'canary';

export class NamingError extends Error {
  override readonly name = 'NamingError';
}

export interface ParsedVersion {
  readonly configRef: string;
  readonly suffix: string;
  readonly testing: boolean;
}

/** Returns why `version` is not a template version, or undefined when it is one. */
export function versionProblem(version: string): string | undefined {
  if (VERSION_PATTERN.test(version)) return undefined;
  return `version "${version}" must look like <10 hex digits>-<3 of [a-z0-9]>[-testing], e.g. 56e40f6505-9lp`;
}

export function parseVersion(version: string): ParsedVersion {
  const problem = versionProblem(version);
  if (problem !== undefined) throw new NamingError(problem);
  const [configRef = '', suffix = ''] = version.split('-');
  return { configRef, suffix, testing: version.endsWith('-testing') };
}

/** `gh-runner[-testing]-<group>-<type>-<region>`; prod MIGs carry no environment segment. */
export function migName(prefix: string, ref: MigRef): string {
  const env = ref.environment === 'prod' ? '' : `-${ref.environment}`;
  return checkGcpName(`${prefix}${env}-${ref.group}-${ref.type}-${ref.region}`, 'MIG');
}

/**
 * Inverse of {@link migName}. Group and type names never contain `-` (validated in the fleet rules), so the
 * region is everything after the type. Returns undefined for names outside the fleet's naming scheme.
 */
export function parseMigName(prefix: string, name: string): MigRef | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const parts = name.slice(prefix.length + 1).split('-');
  let environment: Environment = 'prod';
  const maybeEnv = parts[0];
  if (maybeEnv !== undefined && maybeEnv !== 'prod' && (ENVIRONMENTS as readonly string[]).includes(maybeEnv)) {
    environment = maybeEnv as Environment;
    parts.shift();
  }
  const [group, type, ...regionParts] = parts;
  if (group === undefined || type === undefined || regionParts.length < 2) return undefined;
  return { environment, group, type, region: regionParts.join('-') };
}

/** `gh-runner-<group>-<type>-<version>`: no environment segment, so one template serves testing and prod. */
export function templateName(prefix: string, group: string, type: string, version: string): string {
  return checkGcpName(`${prefix}-${group}-${type}-${version}`, 'instance template');
}

function checkGcpName(name: string, what: string): string {
  if (name.length > GCP_NAME_MAX_LENGTH) {
    throw new NamingError(
      `${what} name "${name}" is ${name.length} characters; GCP allows at most ${GCP_NAME_MAX_LENGTH} (shorten the name prefix, group or type)`,
    );
  }
  if (!GCP_NAME_PATTERN.test(name)) {
    throw new NamingError(`${what} name "${name}" is not a valid GCP resource name ([a-z][-a-z0-9]*[a-z0-9])`);
  }
  return name;
}
