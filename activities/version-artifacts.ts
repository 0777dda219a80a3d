/**
 * What a version needs before it rolls out: its instance templates (templates.ts), and the runner release those
 * templates install, whose archive is checked against the digest the release publishes.
 */
import { createHash } from 'node:crypto';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';
import { FailureType, permanentFailure, toFailure } from './failures.js';
import { archivePlatform, parseReleaseDigests, RUNNER_RELEASE_TAG, versionFromTag } from './release.js';
import type { ActivityRuntime } from './runtime.js';
import { createVersionTemplates, listTemplates } from './templates.js';
import type { RolloutActivities } from './contract.js';

function publishedAtOf(release: { readonly published_at: string | null; readonly created_at: string }): string {
  return release.published_at ?? release.created_at;
}

/** Earlier by date; on the same second, the lower version (its clock started then too). */
function publishedBefore(
  a: { readonly version: string; readonly publishedAt: string },
  b: { readonly version: string; readonly publishedAt: string },
): boolean {
  return (Date.parse(a.publishedAt) - Date.parse(b.publishedAt) || compareRunnerVersions(a.version, b.version)) < 0;
}

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
      // The whole list, not the release GitHub marks latest: that is the newest by date, which may be a patch
      // of an older line published after a newer release (2.293.x after 2.296.x), and the deadline's clock
      // started with the first release newer than the fleet, not the last. A few pages a day.
      const releases = await runtime.call('list the runner releases', () =>
        github.paginate(github.rest.repos.listReleases, { owner: 'actions', repo: 'runner', per_page: 100 }),
      );
      // A tag that is not a runner version (none so far) names no release to roll out.
      const candidates = releases
        .filter((release) => !release.draft && !release.prerelease && RUNNER_RELEASE_TAG.test(release.tag_name))
        .map((release) => ({ release, version: versionFromTag(release.tag_name), publishedAt: publishedAtOf(release) }))
        .filter(({ version }) => newerThan === undefined || compareRunnerVersions(version, newerThan) > 0);
      if (candidates.length === 0) return null;
      // Several releases on one day, or since the last check: one rollout, of the highest version.
      const target = candidates.reduce((best, next) =>
        compareRunnerVersions(next.version, best.version) > 0 ? next : best,
      );
      const first = candidates.reduce((earliest, next) => (publishedBefore(next, earliest) ? next : earliest));
      const { release, version } = target;
      // A body without digests is returned as it is: the check names the platforms it lacks and escalates with the
      // deadline, which it could not do for a failed activity.
      const digests = parseReleaseDigests(release.body ?? '');
      const assets: Record<string, string> = {};
      for (const asset of release.assets) {
        const platform = archivePlatform(asset.name, version);
        if (platform !== undefined) assets[platform] = asset.browser_download_url;
      }
      return {
        version,
        publishedAt: target.publishedAt,
        ...(newerThan === undefined
          ? {}
          : {
              firstNewer: { version: first.version, publishedAt: first.publishedAt },
              newerVersions: candidates.map((candidate) => candidate.version).sort(compareRunnerVersions),
            }),
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
