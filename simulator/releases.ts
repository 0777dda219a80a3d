import { createHash } from 'node:crypto';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';

/** Platforms of an actions/runner release, as named in its assets and `BEGIN SHA <platform>` markers. */
export const RUNNER_PLATFORMS = [
  'win-x64',
  'win-arm64',
  'osx-x64',
  'osx-arm64',
  'linux-x64',
  'linux-arm64',
  'linux-arm',
] as const;
export type RunnerPlatform = (typeof RUNNER_PLATFORMS)[number];

const ASSET_BYTES = 64 * 1024;
const DAY_MS = 24 * 3600 * 1000;

export interface PublishReleaseInput {
  /** Runner version without the leading `v`, e.g. `2.330.0`. */
  readonly version: string;
  /** ISO timestamp; defaults to the current simulated time. */
  readonly publishedAt?: string;
  /** The body announces a security release (GitHub stops queueing jobs to older runners at once). */
  readonly security?: boolean;
  /** The body publishes wrong SHA-256 digests for the Linux archives (the assets themselves are unchanged). */
  readonly digestMismatch?: boolean;
  /** The body carries no `BEGIN SHA` lines at all. */
  readonly withoutShaLines?: boolean;
  readonly prerelease?: boolean;
  readonly draft?: boolean;
}

export interface RunnerReleaseRecord {
  readonly id: number;
  readonly version: string;
  readonly publishedAt: number;
  readonly security: boolean;
  readonly digestMismatch: boolean;
  readonly withoutShaLines: boolean;
  readonly prerelease: boolean;
  readonly draft: boolean;
}

export class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
}

export function assetName(version: string, platform: RunnerPlatform): string {
  return `actions-runner-${platform}-${version}.${platform.startsWith('win-') ? 'zip' : 'tar.gz'}`;
}

const assetCache = new Map<string, Buffer>();

/** Deterministic archive contents: SHA-256 in counter mode over the version and platform. */
export function assetBytes(version: string, platform: RunnerPlatform): Buffer {
  const key = `${version}/${platform}`;
  let bytes = assetCache.get(key);
  if (bytes === undefined) {
    const blocks: Buffer[] = [];
    for (let counter = 0; counter * 32 < ASSET_BYTES; counter++) {
      blocks.push(createHash('sha256').update(`actions-runner/${key}/${counter}`).digest());
    }
    bytes = Buffer.concat(blocks).subarray(0, ASSET_BYTES);
    assetCache.set(key, bytes);
  }
  return bytes;
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The actions/runner releases the simulator serves, newest first. */
export class ReleaseStore {
  private readonly releases: RunnerReleaseRecord[] = [];
  private nextId = 170_000_000;
  private readonly digests = new Map<string, string>();

  publish(input: PublishReleaseInput, now: number): RunnerReleaseRecord {
    if (!/^\d+\.\d+\.\d+$/.test(input.version)) {
      throw new ReleaseError(`release version "${input.version}" must look like 2.330.0 (no leading v)`);
    }
    if (this.find(input.version) !== undefined) {
      throw new ReleaseError(`release v${input.version} already exists`);
    }
    const publishedAt = input.publishedAt === undefined ? now : Date.parse(input.publishedAt);
    if (Number.isNaN(publishedAt)) throw new ReleaseError(`publishedAt "${input.publishedAt}" is not an ISO timestamp`);
    const record: RunnerReleaseRecord = {
      id: this.nextId++,
      version: input.version,
      publishedAt,
      security: input.security ?? false,
      digestMismatch: input.digestMismatch ?? false,
      withoutShaLines: input.withoutShaLines ?? false,
      prerelease: input.prerelease ?? false,
      draft: input.draft ?? false,
    };
    this.releases.push(record);
    this.releases.sort((a, b) => b.publishedAt - a.publishedAt || b.id - a.id);
    return record;
  }

  /** The release id the next publication gets, for a snapshot. */
  get nextReleaseId(): number {
    return this.nextId;
  }

  /** Takes up a snapshot's releases (newest first) and id counter. */
  restore(releases: readonly RunnerReleaseRecord[], nextId: number): void {
    this.releases.splice(0, this.releases.length, ...releases);
    this.nextId = nextId;
  }

  /** Newest first. */
  all(): readonly RunnerReleaseRecord[] {
    return this.releases;
  }

  find(version: string): RunnerReleaseRecord | undefined {
    return this.releases.find((release) => release.version === version);
  }

  /** The newest release that is neither a draft nor a prerelease. */
  latest(): RunnerReleaseRecord | undefined {
    return this.releases.find((release) => !release.draft && !release.prerelease);
  }

  /**
   * GitHub stops queueing jobs to a runner once a newer release is 30 days old, or at once when a newer
   * release is a security release.
   */
  isDeprecated(runnerVersion: string, now: number): boolean {
    return this.releases.some(
      (release) =>
        !release.draft &&
        !release.prerelease &&
        compareRunnerVersions(release.version, runnerVersion) > 0 &&
        (release.security || now - release.publishedAt > 30 * DAY_MS),
    );
  }

  digest(version: string, platform: RunnerPlatform): string {
    const key = `${version}/${platform}`;
    let digest = this.digests.get(key);
    if (digest === undefined) {
      digest = sha256Hex(assetBytes(version, platform));
      this.digests.set(key, digest);
    }
    return digest;
  }

  /** The release notes in the shape of actions/runner's releaseNote.md. */
  body(release: RunnerReleaseRecord): string {
    const v = release.version;
    const lines = [
      "## What's Changed",
      `- Runner ${v} maintenance release`,
      ...(release.security
        ? ['', '## Security', `This is a security release: runners older than ${v} stop receiving jobs immediately.`]
        : []),
      '',
      '## Linux x64',
      '```bash',
      '# Create a folder',
      'mkdir actions-runner && cd actions-runner',
      '# Download the latest runner package',
      `curl -O -L https://github.com/actions/runner/releases/download/v${v}/${assetName(v, 'linux-x64')}`,
      '# Extract the installer',
      `tar xzf ./${assetName(v, 'linux-x64')}`,
      '```',
    ];
    if (!release.withoutShaLines) {
      lines.push(
        '',
        '## SHA-256 Checksums',
        '',
        'The SHA-256 checksums for the packages included in this build are shown below:',
        '',
      );
      for (const platform of RUNNER_PLATFORMS) {
        const wrong = release.digestMismatch && platform.startsWith('linux-');
        const digest = wrong ? sha256Hex(`not ${v}/${platform}`) : this.digest(v, platform);
        lines.push(`- ${assetName(v, platform)} <!-- BEGIN SHA ${platform} -->${digest}<!-- END SHA ${platform} -->`);
      }
    }
    return lines.join('\n');
  }
}
