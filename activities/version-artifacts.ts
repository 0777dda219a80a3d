/**
 * What a version needs before it rolls out: its instance templates (templates.ts), and the runner release those
 * templates install, whose archive is checked against the digest the release publishes.
 */
import { createHash } from 'node:crypto';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';
import { FailureType, permanentFailure, toFailure } from './failures.js';
import { archivePlatform, parseReleaseDigests, versionFromTag } from './release.js';
import type { ActivityRuntime } from './runtime.js';
import { createVersionTemplates, listTemplates } from './templates.js';
import type { RolloutActivities } from './types.js';

export function createVersionArtifactActivities(
  runtime: ActivityRuntime,
): Pick<RolloutActivities, 'missingTemplates' | 'createTemplates' | 'latestRunnerRelease' | 'verifyRunnerArchive'> {
  return {
    async missingTemplates(names) {
      const found = await listTemplates(runtime, names);
      return names.filter((name) => !found.has(name));
    },

    async createTemplates(input) {
      return createVersionTemplates(runtime, input);
    },

    async latestRunnerRelease({ newerThan }) {
      const { github } = runtime.deps;
      const { data: release } = await runtime.call('get the latest runner release', () =>
        github.rest.repos.getLatestRelease({ owner: 'actions', repo: 'runner' }),
      );
      const version = versionFromTag(release.tag_name);
      if (newerThan !== undefined && compareRunnerVersions(version, newerThan) <= 0) return null;
      const digests = parseReleaseDigests(release.body ?? '');
      if (Object.keys(digests).length === 0) {
        throw permanentFailure(
          FailureType.RELEASE_MALFORMED,
          `release ${release.tag_name} lists no SHA-256 digests in its body`,
          {
            tag: release.tag_name,
          },
        );
      }
      const assets: Record<string, string> = {};
      for (const asset of release.assets) {
        const platform = archivePlatform(asset.name, version);
        if (platform !== undefined) assets[platform] = asset.browser_download_url;
      }
      return {
        version,
        publishedAt: release.published_at ?? release.created_at,
        securityRelease: /\bsecurity\b/i.test(`${release.name ?? ''}\n${release.body ?? ''}`),
        digests,
        assets,
      };
    },

    async verifyRunnerArchive({ url, sha256 }) {
      const download = runtime.deps.fetch ?? fetch;
      const expected = sha256.toLowerCase().replace(/^sha256:/, '');
      let response: Response;
      try {
        response = await download(url, { redirect: 'follow' });
      } catch (error) {
        throw toFailure(error, `download ${url}`);
      }
      if (!response.ok || response.body === null) {
        const error = Object.assign(new Error(`HTTP ${response.status} ${response.statusText}`), {
          status: response.status,
        });
        throw toFailure(error, `download ${url}`, FailureType.INVALID_REQUEST);
      }
      const hash = createHash('sha256');
      let bytes = 0;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          bytes += chunk.byteLength;
          runtime.heartbeat({ bytes });
        }
      } catch (error) {
        throw toFailure(error, `download ${url}`);
      }
      const actual = hash.digest('hex');
      if (actual !== expected) {
        throw permanentFailure(
          FailureType.DIGEST_MISMATCH,
          `runner archive ${url} has SHA-256 ${actual}, but the release publishes ${expected}`,
          { url, expected, actual, bytes },
        );
      }
      return { bytes };
    },
  };
}
