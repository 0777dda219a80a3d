/** Instance templates of a version: the resource we create from the fleet definition, and existence checks. */
import type { protos } from '@google-cloud/compute';
import { findGroup, findType, versionTemplates } from '../runner-config/matrix.js';
import { METADATA_KEYS, templateMetadata } from '../runner-config/metadata.js';
import { parseVersion, versionProblem } from '../runner-config/naming.js';
import type { FleetDefinition } from '../runner-config/types.js';
import { FailureType, httpErrorFacts, permanentFailure, toFailure } from './failures.js';
import { operationOf, waitForOperation } from './mig-reads.js';
import type { ActivityRuntime } from './runtime.js';

type InstanceTemplate = protos.google.cloud.compute.v1.IInstanceTemplate;

export interface TemplateSpec {
  readonly version: string;
  readonly runnerVersion?: string;
  readonly archiveDigests?: Readonly<Record<string, string>>;
}

/** A GCP `name eq` filter (an RE2 full match) for exactly these names; names are `[-a-z0-9]`, no escaping. */
export function nameFilter(names: readonly string[]): string {
  return `name eq '(${names.join('|')})'`;
}

function imageUrl(project: string, image: string): string {
  return image.includes('/') ? image : `projects/${project}/global/images/${image}`;
}

/**
 * The template resource for one group x type, following IREE's public create_templates.sh
 * (https://github.com/iree-org/iree/blob/41dcee93c7157955d94973addf6770cecf926849/build_tools/github_actions/runner/gcp/create_templates.sh):
 * boot disk from the type's image, the group's service account, shielded VM with vTPM, an external IP, no
 * automatic restart (the MIG recreates), and the metadata the VM configures itself from.
 */
export function templateResource(
  fleet: FleetDefinition,
  group: string,
  type: string,
  spec: TemplateSpec,
  name: string,
): InstanceTemplate {
  const runnerType = findType(fleet, type);
  const runnerGroup = findGroup(fleet, group);
  // The VMs fetch their config at the commit the version names; the fleet's ref is used only when it is the
  // full commit of that same prefix (a branch name like `main` would float).
  const versionRef = parseVersion(spec.version).configRef;
  const metadata = templateMetadata(fleet, group, type, spec.version, {
    ...(fleet.github.configRef.startsWith(versionRef) ? { configRef: fleet.github.configRef } : {}),
    ...(spec.runnerVersion === undefined ? {} : { runnerVersion: spec.runnerVersion }),
    ...(spec.archiveDigests === undefined ? {} : { archiveDigests: spec.archiveDigests }),
  });
  return {
    name,
    description: `${group}/${type} runners, version ${spec.version}`,
    properties: {
      machineType: runnerType.machineType,
      ...(runnerType.accelerator === undefined
        ? {}
        : {
            guestAccelerators: [
              { acceleratorType: runnerType.accelerator.type, acceleratorCount: runnerType.accelerator.count },
            ],
          }),
      scheduling: {
        onHostMaintenance: runnerType.maintenancePolicy,
        automaticRestart: false,
        provisioningModel: 'STANDARD',
      },
      disks: [
        {
          boot: true,
          autoDelete: true,
          type: 'PERSISTENT',
          initializeParams: {
            diskSizeGb: String(runnerType.disk.sizeGb),
            diskType: runnerType.disk.type,
            sourceImage: imageUrl(fleet.project, runnerType.image),
          },
        },
      ],
      networkInterfaces: [
        {
          network: 'global/networks/default',
          accessConfigs: [{ name: 'external-nat', type: 'ONE_TO_ONE_NAT', networkTier: 'PREMIUM' }],
        },
      ],
      serviceAccounts: [
        { email: runnerGroup.serviceAccount, scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
      ],
      tags: { items: ['allow-health-checks'] },
      shieldedInstanceConfig: { enableSecureBoot: false, enableVtpm: true, enableIntegrityMonitoring: true },
      metadata: { items: Object.entries(metadata).map(([key, value]) => ({ key, value })) },
    },
  };
}

function metadataOf(template: InstanceTemplate): Record<string, string> {
  return Object.fromEntries(
    (template.properties?.metadata?.items ?? []).map((item) => [item.key ?? '', item.value ?? '']),
  );
}

/** The metadata values that decide what a VM runs; an existing template must agree on all of them. */
const IDENTITY_KEYS = [
  METADATA_KEYS.runnerVersion,
  METADATA_KEYS.configRef,
  METADATA_KEYS.configRepo,
  METADATA_KEYS.group,
  METADATA_KEYS.type,
  METADATA_KEYS.archiveDigest,
] as const;

function identityDifferences(existing: InstanceTemplate, wanted: InstanceTemplate): string[] {
  const have = metadataOf(existing);
  const want = metadataOf(wanted);
  return IDENTITY_KEYS.filter((key) => have[key] !== want[key]).map(
    (key) => `${key}: has ${have[key] ?? '(unset)'}, want ${want[key] ?? '(unset)'}`,
  );
}

export async function listTemplates(
  runtime: ActivityRuntime,
  names: readonly string[],
): Promise<Map<string, InstanceTemplate>> {
  const found = new Map<string, InstanceTemplate>();
  if (names.length === 0) return found;
  const [templates] = await runtime.call('list instance templates', () =>
    runtime.deps.compute.templates.list({ project: runtime.project, filter: nameFilter(names) }),
  );
  for (const template of templates) if (template.name != null) found.set(template.name, template);
  return found;
}

export async function createVersionTemplates(
  runtime: ActivityRuntime,
  spec: TemplateSpec,
): Promise<{ created: string[]; existing: string[] }> {
  const problem = versionProblem(spec.version);
  if (problem !== undefined) throw permanentFailure(FailureType.INVALID_REQUEST, problem);
  if (spec.runnerVersion !== undefined && spec.archiveDigests === undefined) {
    throw permanentFailure(
      FailureType.INVALID_REQUEST,
      `runner version ${spec.runnerVersion} needs its archive digests (from the release) to build templates`,
    );
  }
  const fleet = runtime.deps.fleet;
  const refs = versionTemplates(fleet, spec.version);
  const wanted = refs.map((ref) => ({
    ...ref,
    resource: templateResource(fleet, ref.group, ref.type, spec, ref.name),
  }));
  const existingTemplates = await listTemplates(
    runtime,
    refs.map((ref) => ref.name),
  );
  const mismatches = wanted.flatMap(({ name, resource }) => {
    const existing = existingTemplates.get(name);
    const differences = existing === undefined ? [] : identityDifferences(existing, resource);
    return differences.length === 0 ? [] : [`${name} (${differences.join('; ')})`];
  });
  if (mismatches.length > 0) {
    throw permanentFailure(
      FailureType.TEMPLATE_MISMATCH,
      `templates of version ${spec.version} already exist with different contents: ${mismatches.join(', ')}; pick a new version`,
      { version: spec.version, mismatches },
    );
  }
  const created: string[] = [];
  const existing: string[] = [];
  // One at a time, as IREE's public create_templates.sh does (link above): template inserts count against a
  // small global write quota, and a failure leaves a clear list of what exists (the retry creates only the rest).
  for (const { name, resource } of wanted) {
    if (existingTemplates.has(name)) {
      existing.push(name);
      continue;
    }
    let result;
    try {
      result = await runtime.deps.compute.templates.insert({
        project: runtime.project,
        requestId: runtime.attemptRequestId('insert-template', name),
        instanceTemplateResource: resource,
      });
    } catch (error) {
      // A concurrent or earlier run created it after our list: accept it only if it is the same template.
      if (httpErrorFacts(error)?.status !== 409) throw toFailure(error, `create instance template ${name}`);
      const [raced] = await listTemplates(runtime, [name]).then((found) => [...found.values()]);
      const differences = raced === undefined ? ['vanished after a conflict'] : identityDifferences(raced, resource);
      if (differences.length > 0) {
        throw permanentFailure(
          FailureType.TEMPLATE_MISMATCH,
          `template ${name} appeared concurrently with different contents (${differences.join('; ')})`,
          { name },
        );
      }
      existing.push(name);
      continue;
    }
    await waitForOperation(runtime, 'global', operationOf(result), `create instance template ${name}`);
    created.push(name);
    runtime.heartbeat({ created });
  }
  return { created, existing };
}
