import { FailureType, permanentFailure } from './failures.js';

/** The marker the runner's release notes wrap each platform's archive digest in. */
const DIGEST_MARKER = /<!--\s*BEGIN SHA ([a-z0-9_-]+)\s*-->\s*([0-9a-fA-F]{64})\s*<!--\s*END SHA \1\s*-->/g;

/**
 * Reads `platform -> sha256` from an actions/runner release body. Only text between the BEGIN/END SHA markers
 * counts: the body holds other 64-hex strings (commit ids, checksums of other files).
 */
export function parseReleaseDigests(body: string): Record<string, string> {
  const digests: Record<string, string> = {};
  for (const match of body.matchAll(DIGEST_MARKER)) {
    const [, platform = '', digest = ''] = match;
    if (digests[platform] !== undefined && digests[platform] !== digest.toLowerCase()) {
      throw permanentFailure(
        FailureType.RELEASE_MALFORMED,
        `release body lists two different SHA-256 digests for ${platform}`,
        { platform },
      );
    }
    digests[platform] = digest.toLowerCase();
  }
  return digests;
}

/** A runner release's tag, `v<major>.<minor>.<patch>`, capturing the version. */
export const RUNNER_RELEASE_TAG = /^v(\d+\.\d+\.\d+)$/;

/** `v2.319.1` -> `2.319.1`; refuses tags that are not `v<major>.<minor>.<patch>`. */
export function versionFromTag(tag: string): string {
  const match = RUNNER_RELEASE_TAG.exec(tag);
  if (match?.[1] === undefined) {
    throw permanentFailure(
      FailureType.RELEASE_MALFORMED,
      `release tag "${tag}" is not of the form v<major>.<minor>.<patch>`,
      {
        tag,
      },
    );
  }
  return match[1];
}

/** `actions-runner-linux-x64-2.319.1.tar.gz` -> `linux-x64` for the given version; undefined for other assets. */
export function archivePlatform(assetName: string, version: string): string | undefined {
  const prefix = 'actions-runner-';
  const suffix = `-${version}.tar.gz`;
  if (!assetName.startsWith(prefix) || !assetName.endsWith(suffix)) return undefined;
  return assetName.slice(prefix.length, -suffix.length);
}
