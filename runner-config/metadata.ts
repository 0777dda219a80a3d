import { findGroup, findType } from './matrix.js';
import { parseVersion } from './naming.js';
import type { Architecture, FleetDefinition } from './types.js';

/** Instance-template metadata keys the VM scripts in vm/ read from the metadata server. */
export const METADATA_KEYS = {
  runnerVersion: 'github-runner-version',
  configRef: 'github-runner-config-ref',
  configRepo: 'github-runner-config-repo',
  scope: 'github-runner-scope',
  tokenProxyUrl: 'github-token-proxy-url',
  selfDeleterUrl: 'instance-self-deleter-url',
  group: 'github-runner-group',
  trust: 'github-runner-trust',
  type: 'github-runner-type',
  archiveUrl: 'github-runner-archive-url',
  archiveDigest: 'github-runner-archive-digest',
} as const;

export function runnerArchiveUrl(runnerVersion: string, arch: Architecture): string {
  return `https://github.com/actions/runner/releases/download/v${runnerVersion}/actions-runner-linux-${arch}-${runnerVersion}.tar.gz`;
}

export interface TemplateMetadataOptions {
  /** Full commit of the config the VMs fetch; defaults to the 10-digit ref inside the version. */
  readonly configRef?: string;
  readonly runnerVersion?: string;
  readonly archiveDigests?: Readonly<Record<Architecture, string>>;
}

/**
 * The metadata of the template `<prefix>-<group>-<type>-<version>`: everything a VM needs to configure itself.
 * The environment is deliberately absent: one template serves testing and prod, and the VM derives its
 * environment from its MIG's name.
 */
export function templateMetadata(
  fleet: FleetDefinition,
  groupName: string,
  typeName: string,
  version: string,
  options: TemplateMetadataOptions = {},
): Record<string, string> {
  const group = findGroup(fleet, groupName);
  const type = findType(fleet, typeName);
  const runnerVersion = options.runnerVersion ?? fleet.runner.version;
  const digests = options.archiveDigests ?? fleet.runner.archiveDigests;
  return {
    [METADATA_KEYS.runnerVersion]: runnerVersion,
    [METADATA_KEYS.configRef]: options.configRef ?? parseVersion(version).configRef,
    [METADATA_KEYS.configRepo]: fleet.github.configRepo,
    [METADATA_KEYS.scope]: fleet.github.org,
    [METADATA_KEYS.tokenProxyUrl]: fleet.services.tokenProxyUrl,
    [METADATA_KEYS.selfDeleterUrl]: fleet.services.selfDeleterUrl,
    [METADATA_KEYS.group]: group.name,
    [METADATA_KEYS.trust]: group.trust,
    [METADATA_KEYS.type]: type.name,
    [METADATA_KEYS.archiveUrl]: runnerArchiveUrl(runnerVersion, type.arch),
    [METADATA_KEYS.archiveDigest]: digests[type.arch],
  };
}
