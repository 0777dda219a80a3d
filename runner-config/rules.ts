import { GITHUB_EVENTS, UNTRUSTED_CODE_EVENTS } from './events.js';
import type { FleetIssue } from './issues.js';
import { migName, NamingError, templateName } from './naming.js';
import type { Entry, FleetDraft } from './normalise.js';
import { ENVIRONMENTS, type AutoscalingBounds } from './types.js';

/** Stage 3 of parsing: small rules over the normalised draft, each reporting every problem it finds. */
export interface RuleFinding extends FleetIssue {
  readonly severity: 'error' | 'warning';
}

type Rule = (draft: FleetDraft) => RuleFinding[];

const error = (path: string, message: string): RuleFinding => ({ severity: 'error', path, message });
const warning = (path: string, message: string): RuleFinding => ({ severity: 'warning', path, message });

/** The longest version a template name must fit: 10 hex digits, 3 random characters, `-testing`. */
const LONGEST_VERSION = '0123456789-abc-testing';

const uniqueNames: Rule = ({ regions, groups, types }) => {
  const findings: RuleFinding[] = [];
  const check = (section: string, entries: readonly Entry<{ readonly name: string }>[]) => {
    const first = new Map<string, number>();
    for (const { index, value } of entries) {
      const earlier = first.get(value.name);
      if (earlier === undefined) first.set(value.name, index);
      else
        findings.push(
          error(`${section}[${index}].name`, `duplicate name "${value.name}" (also ${section}[${earlier}])`),
        );
    }
  };
  check('regions', regions);
  check('groups', groups);
  check('types', types);
  return findings;
};

const zonesBelongToTheirRegion: Rule = ({ regions }) =>
  regions.flatMap(({ index, value: region }) =>
    region.zones.flatMap((zone, z) => {
      const path = `regions[${index}].zones[${z}]`;
      if (!zone.startsWith(`${region.name}-`)) return [error(path, `zone "${zone}" is not in region ${region.name}`)];
      if (region.zones.indexOf(zone) !== z) return [error(path, `zone "${zone}" is listed twice`)];
      return [];
    }),
  );

const environmentRegionsAreKnown: Rule = ({ regions, environments, incomplete }) => {
  // With a broken region entry, a region could look unknown only because its entry was left out.
  if (environments === undefined || incomplete.has('regions')) return [];
  const known = new Set(regions.map(({ value }) => value.name));
  return ENVIRONMENTS.flatMap((env) =>
    environments[env].regions.flatMap((region, index) => {
      const path = `environments.${env}.regions[${index}]`;
      if (!known.has(region)) {
        return [error(path, `unknown region "${region}"; declare it under regions (known: ${[...known].join(', ')})`)];
      }
      if (environments[env].regions.indexOf(region) !== index)
        return [error(path, `region "${region}" is listed twice`)];
      return [];
    }),
  );
};

const boundsProblem = (path: string, bounds: AutoscalingBounds): RuleFinding[] =>
  bounds.min <= bounds.max ? [] : [error(path, `min (${bounds.min}) is greater than max (${bounds.max})`)];

const autoscalingBoundsAreOrdered: Rule = ({ environments, types }) => [
  ...(environments === undefined
    ? []
    : [
        ...boundsProblem('environments.prod.autoscaling', environments.prod.autoscaling),
        ...boundsProblem('environments.testing.autoscaling', environments.testing.autoscaling),
        ...boundsProblem('environments.testing.testAutoscaling', environments.testing.testAutoscaling),
      ]),
  ...types.flatMap(({ index, value: type }) =>
    ENVIRONMENTS.flatMap((env) => {
      const bounds = type.autoscaling?.[env];
      return bounds === undefined ? [] : boundsProblem(`types[${index}].autoscaling.${env}`, bounds);
    }),
  ),
];

const testingSitsIdle: Rule = ({ environments }) => {
  const bounds = environments?.testing.autoscaling;
  if (bounds === undefined || bounds.max === 0) return [];
  return [
    warning(
      'environments.testing.autoscaling',
      'testing MIGs normally sit at 0..0 between rollouts; idle VMs cost money',
    ),
  ];
};

/** parseMigName reads an environment segment after the prefix, so a group must not be named like one. */
const groupNamesAreNotEnvironments: Rule = ({ groups }) =>
  groups.flatMap(({ index, value: group }) =>
    (ENVIRONMENTS as readonly string[]).includes(group.name)
      ? [
          error(
            `groups[${index}].name`,
            `group name "${group.name}" is an environment name; MIG names would be ambiguous`,
          ),
        ]
      : [],
  );

const rolloutPolicyIsConsistent: Rule = ({ types, environments }) =>
  types.flatMap(({ index, value: type }) => {
    const path = `types[${index}]`;
    if (type.rolloutPolicy === 'direct') {
      if (type.firstRegion === undefined) {
        return [error(`${path}.firstRegion`, 'a direct-update type needs the prod region it is updated in first')];
      }
      if (environments !== undefined && !environments.prod.regions.includes(type.firstRegion)) {
        const prod = environments.prod.regions.join(', ');
        return [error(`${path}.firstRegion`, `"${type.firstRegion}" is not a prod region (prod: ${prod})`)];
      }
      return [];
    }
    return [
      ...(type.firstRegion === undefined
        ? []
        : [warning(`${path}.firstRegion`, 'ignored: only direct-update types have a first region')]),
      ...(type.distributionShape === 'BALANCED'
        ? [
            error(
              `${path}.distributionShape`,
              'BALANCED MIGs cannot hold two versions; use rolloutPolicy direct or EVEN',
            ),
          ]
        : []),
    ];
  });

const acceleratorsTerminateOnMaintenance: Rule = ({ types }) =>
  types.flatMap(({ index, value: type }) =>
    type.accelerator !== undefined && type.maintenancePolicy !== 'TERMINATE'
      ? [error(`types[${index}].maintenancePolicy`, 'VMs with an accelerator cannot live-migrate; use TERMINATE')]
      : [],
  );

const allowedEventsAreGitHubEvents: Rule = ({ groups }) =>
  groups.flatMap(({ index, value: group }) => {
    const path = `groups[${index}].allowedEvents`;
    const findings: RuleFinding[] = [];
    if (group.allowedEvents.length === 0)
      findings.push(warning(path, 'no event is allowed: every job will be refused'));
    group.allowedEvents.forEach((event, e) => {
      if (!(GITHUB_EVENTS as readonly string[]).includes(event)) {
        findings.push(error(`${path}[${e}]`, `"${event}" is not a GitHub Actions event`));
      } else if (group.allowedEvents.indexOf(event) !== e) {
        findings.push(warning(`${path}[${e}]`, `"${event}" is listed twice`));
      } else if (group.trust !== 'minimal' && (UNTRUSTED_CODE_EVENTS as readonly string[]).includes(event)) {
        findings.push(warning(`${path}[${e}]`, `"${event}" runs pull request code on a ${group.trust}-trust group`));
      }
    });
    return findings;
  });

const serviceAccountsBelongToProject: Rule = ({ groups, project }) =>
  groups.flatMap(({ index, value: group }) => {
    const accountProject = /@([^.]+)\.iam\.gserviceaccount\.com$/.exec(group.serviceAccount)?.[1];
    return project !== undefined && accountProject !== undefined && accountProject !== project
      ? [warning(`groups[${index}].serviceAccount`, `service account of project "${accountProject}", not "${project}"`)]
      : [];
  });

function namingProblem(build: () => string): string | undefined {
  try {
    build();
    return undefined;
  } catch (cause) {
    if (cause instanceof NamingError) return cause.message;
    throw cause;
  }
}

const longest = (problems: (string | undefined)[]): string | undefined =>
  problems.filter((problem) => problem !== undefined).sort((a, b) => b.length - a.length)[0];

/** Every MIG and template name must fit GCP's 63 characters; per type, the longest offender is reported. */
const namesFitGcp: Rule = ({ namePrefix, groups, types, environments }) => {
  if (namePrefix === undefined || environments === undefined) return [];
  const regions = ENVIRONMENTS.flatMap((env) => environments[env].regions.map((region) => ({ env, region })));
  return types.flatMap(({ index, value: type }) => {
    const path = `types[${index}].name`;
    const mig = longest(
      groups.flatMap(({ value: group }) =>
        regions.map(({ env, region }) =>
          namingProblem(() => migName(namePrefix, { environment: env, group: group.name, type: type.name, region })),
        ),
      ),
    );
    const template = longest(
      groups.map(({ value: group }) =>
        namingProblem(() => templateName(namePrefix, group.name, type.name, LONGEST_VERSION)),
      ),
    );
    return [
      ...(mig === undefined ? [] : [error(path, mig)]),
      ...(template === undefined
        ? []
        : [error(path, `${template} (with the longest version, ${LONGEST_VERSION.length} characters)`)]),
    ];
  });
};

const canaryFitsTheMig: Rule = ({ rollout, environments }) =>
  rollout !== undefined && environments !== undefined && rollout.canarySize > environments.prod.autoscaling.max
    ? [
        warning(
          'rollout.canarySize',
          `a canary of ${rollout.canarySize} exceeds the prod MIGs' max size ${environments.prod.autoscaling.max}`,
        ),
      ]
    : [];

/** A pool names a group and a type of the fleet, once, and a queue pool's bounds hold its warm minimum. */
const poolsAreKnownAndBounded: Rule = ({ pools, groups, types, environments, incomplete }) => {
  const findings: RuleFinding[] = [];
  const first = new Map<string, number>();
  for (const { index, value: pool } of pools) {
    const path = `pools[${index}]`;
    const id = `${pool.environment}/${pool.group}/${pool.type}`;
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, index);
    else findings.push(error(path, `pool ${id} is listed twice (also pools[${earlier}])`));
    // With a broken group or type entry, a name could look unknown only because its entry was left out.
    const known = (section: 'groups' | 'types', entries: readonly Entry<{ readonly name: string }>[], name: string) => {
      if (incomplete.has(section) || entries.some(({ value }) => value.name === name)) return;
      const names = entries.map(({ value }) => value.name).join(', ');
      findings.push(
        error(
          `${path}.${section === 'groups' ? 'group' : 'type'}`,
          `unknown ${section === 'groups' ? 'runner group' : 'runner type'} "${name}" (known: ${names})`,
        ),
      );
    };
    known('groups', groups, pool.group);
    known('types', types, pool.type);
    if (pool.mode !== 'queue') continue;
    findings.push(...boundsProblem(path, pool.bounds));
    if (pool.warm > pool.bounds.max) {
      findings.push(
        error(
          `${path}.warm`,
          `warm (${pool.warm}) is more than max (${pool.bounds.max}): the pool can never keep that many idle`,
        ),
      );
    }
    if (environments !== undefined && environments[pool.environment].regions.length === 0) {
      findings.push(warning(path, `${pool.environment} has no regions, so pool ${id} has no MIGs to size`));
    }
  }
  return findings;
};

export const FLEET_RULES: readonly Rule[] = [
  uniqueNames,
  zonesBelongToTheirRegion,
  environmentRegionsAreKnown,
  autoscalingBoundsAreOrdered,
  testingSitsIdle,
  groupNamesAreNotEnvironments,
  rolloutPolicyIsConsistent,
  acceleratorsTerminateOnMaintenance,
  allowedEventsAreGitHubEvents,
  serviceAccountsBelongToProject,
  namesFitGcp,
  canaryFitsTheMig,
  poolsAreKnownAndBounded,
];
