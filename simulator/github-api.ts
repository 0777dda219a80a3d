import { randomBytes } from 'node:crypto';

import { GitHubApiError } from './errors.js';
import type { FleetModel } from './fleet-model.js';
import type { SimRunner } from './fleet-types.js';
import { jobsOfRun, jobStatus, latestAttempt, runResource, runsOf, workflowJobResource } from './github-runs.js';
import { assetBytes, assetName, RUNNER_PLATFORMS, type RunnerReleaseRecord } from './releases.js';
import type { ApiRequest, ApiResponse, Route } from './routing.js';

const TOKEN_LIFETIME_MS = 3600 * 1000;
const READ_ONLY_LABELS = new Set(['self-hosted', 'Linux', 'X64', 'ARM64']);

/** The GitHub REST subset for org self-hosted runners, app installation tokens and actions/runner releases. */
export function githubRoutes(model: FleetModel): Route[] {
  const org = model.fleet.github.org;
  const labelIds = new Map<string, number>();
  const labelId = (name: string): number => {
    let id = labelIds.get(name);
    if (id === undefined) {
      id = labelIds.size + 1;
      labelIds.set(name, id);
    }
    return id;
  };
  const groupIds = new Map(model.fleet.groups.map((group, index) => [group.name, index + 2]));

  const runnerResource = (runner: SimRunner): Record<string, unknown> => ({
    id: runner.id,
    name: runner.name,
    os: 'linux',
    status: runner.offlineSince === undefined ? 'online' : 'offline',
    busy:
      runner.offlineSince === undefined && model.presence.listedBusy(runner, model.now(), model.behaviours.staleBusy),
    ephemeral: true,
    runner_group_id: groupIds.get(runner.instance.mig.ref.group) ?? 1,
    labels: runner.labels.map((name) => ({
      id: labelId(name),
      name,
      type: READ_ONLY_LABELS.has(name) ? 'read-only' : 'custom',
    })),
  });

  /**
   * A release as GitHub's REST API shows it (https://docs.github.com/en/rest/releases/releases#get-a-release):
   * every field the "release" schema requires, timestamps in whole seconds.
   */
  const releaseResource = (release: RunnerReleaseRecord, origin: string): Record<string, unknown> => {
    const tag = `v${release.version}`;
    const published = new Date(release.publishedAt).toISOString().replace(/\.\d+Z$/, 'Z');
    const api = `${origin}/repos/actions/runner`;
    const author = {
      login: 'github-actions[bot]',
      id: 41898282,
      node_id: 'MDM6Qm90NDE4OTgyODI=',
      type: 'Bot',
      site_admin: false,
      url: `${origin}/users/github-actions%5Bbot%5D`,
      html_url: 'https://github.com/apps/github-actions',
    };
    return {
      url: `${api}/releases/${release.id}`,
      html_url: `https://github.com/actions/runner/releases/tag/${tag}`,
      assets_url: `${api}/releases/${release.id}/assets`,
      upload_url: `https://uploads.github.com/repos/actions/runner/releases/${release.id}/assets{?name,label}`,
      tarball_url: `${api}/tarball/${tag}`,
      zipball_url: `${api}/zipball/${tag}`,
      id: release.id,
      node_id: Buffer.from(`Release${release.id}`).toString('base64'),
      author,
      tag_name: tag,
      target_commitish: 'main',
      name: tag,
      body: model.releases.body(release),
      draft: release.draft,
      prerelease: release.prerelease,
      created_at: published,
      published_at: published,
      assets: RUNNER_PLATFORMS.map((platform, index) => {
        const name = assetName(release.version, platform);
        const id = release.id * 10 + index;
        return {
          url: `${api}/releases/assets/${id}`,
          id,
          node_id: Buffer.from(`ReleaseAsset${id}`).toString('base64'),
          name,
          label: '',
          uploader: author,
          state: 'uploaded',
          content_type: name.endsWith('.zip') ? 'application/zip' : 'application/gzip',
          size: assetBytes(release.version, platform).length,
          download_count: 0,
          digest: `sha256:${model.releases.digest(release.version, platform)}`,
          created_at: published,
          updated_at: published,
          browser_download_url: `${origin}/actions/runner/releases/download/${tag}/${name}`,
        };
      }),
    };
  };

  /**
   * actions/runner is public: GitHub answers its releases without authentication, under the 60-an-hour limit of
   * unauthenticated clients (https://docs.github.com/en/rest/releases/releases#list-releases, "can be used without
   * authentication if only public resources are requested").
   */
  const requirePublicRead = (request: ApiRequest): void => {
    if (!model.behaviours.publicReleaseReads) requireAuth(request);
  };
  const [repoOwner, repoName] = model.fleet.github.configRepo.split('/');
  const checkRepo = (request: ApiRequest): void => {
    requireAuth(request);
    if (request.params['owner'] !== repoOwner || request.params['repo'] !== repoName)
      throw new GitHubApiError(404, 'Not Found');
  };
  const checkOrg = (request: ApiRequest): void => {
    requireAuth(request);
    if (request.params['org'] !== org) throw new GitHubApiError(404, 'Not Found');
  };
  const findRunner = (request: ApiRequest): SimRunner => {
    checkOrg(request);
    const id = Number(request.params['runnerId']);
    const runner = Number.isInteger(id) ? model.runners.get(id) : undefined;
    if (runner === undefined) throw new GitHubApiError(404, 'Not Found');
    return runner;
  };
  const token = (): ApiResponse => ({
    status: 201,
    body: {
      token: randomBytes(20).toString('hex').toUpperCase().slice(0, 29),
      expires_at: new Date(model.now() + TOKEN_LIFETIME_MS).toISOString(),
    },
  });

  return [
    {
      api: 'github',
      method: 'GET',
      path: '/repos/:owner/:repo/actions/runs',
      endpoint: 'github.actions.listRuns',
      handle: (request) => {
        checkRepo(request);
        const status = request.query.get('status');
        const created = request.query.get('created');
        const since = created === null ? undefined : parseCreatedFilter(created);
        // Newest first, as GitHub lists workflow runs; a run's status is its latest attempt's.
        const runs = runsOf(model.knownJobs())
          .filter((attempts) => {
            const latest = latestAttempt(attempts);
            return status === null || jobStatus(latest) === status || latest.conclusion === status;
          })
          .filter((attempts) => since === undefined || (attempts[0]?.queuedAt ?? 0) >= since)
          .reverse();
        return countedPage(request, 'workflow_runs', runs, (attempts) => runResource(model, attempts, request.origin));
      },
    },
    {
      api: 'github',
      method: 'GET',
      path: '/repos/:owner/:repo/actions/runs/:runId/jobs',
      endpoint: 'github.actions.listJobsForRun',
      handle: (request) => {
        checkRepo(request);
        const attempts = model.knownJobs().filter((job) => String(job.runId) === request.params['runId']);
        if (attempts.length === 0) throw new GitHubApiError(404, 'Not Found');
        const jobs = jobsOfRun(attempts, request.query.get('filter'));
        return countedPage(request, 'jobs', jobs, (job) => workflowJobResource(model, job));
      },
    },
    {
      api: 'github',
      method: 'GET',
      path: '/orgs/:org/actions/runners',
      endpoint: 'github.runners.list',
      handle: (request) => {
        checkOrg(request);
        const name = request.query.get('name');
        const runners = [...model.runners.values()]
          .filter((runner) => name === null || runner.name === name)
          .sort((a, b) => a.id - b.id);
        return countedPage(request, 'runners', runners, runnerResource);
      },
    },
    {
      api: 'github',
      method: 'GET',
      path: '/orgs/:org/actions/runners/:runnerId',
      endpoint: 'github.runners.get',
      handle: (request) => ({ status: 200, body: runnerResource(findRunner(request)) }),
    },
    {
      api: 'github',
      method: 'DELETE',
      path: '/orgs/:org/actions/runners/:runnerId',
      endpoint: 'github.runners.delete',
      handle: (request) => {
        const runner = findRunner(request);
        const outcome = model.deleteRunner(runner.id);
        if (outcome === 'busy') {
          throw new GitHubApiError(422, `Bad request - Runner "${runner.name}" is still running a job"`);
        }
        return { status: 204, effective: outcome === 'deleted' };
      },
    },
    {
      api: 'github',
      method: 'POST',
      path: '/orgs/:org/actions/runners/registration-token',
      endpoint: 'github.runners.registrationToken',
      handle: (request) => {
        checkOrg(request);
        return token();
      },
    },
    {
      api: 'github',
      method: 'POST',
      path: '/orgs/:org/actions/runners/remove-token',
      endpoint: 'github.runners.removeToken',
      handle: (request) => {
        checkOrg(request);
        return token();
      },
    },
    {
      api: 'github',
      method: 'GET',
      path: '/orgs/:org/actions/runners/downloads',
      endpoint: 'github.runners.downloads',
      handle: (request) => {
        checkOrg(request);
        const latest = model.releases.latest();
        if (latest === undefined) return { status: 200, body: [] };
        const release = releaseResource(latest, request.origin);
        const assets = release['assets'] as Array<{ name: string; browser_download_url: string }>;
        return {
          status: 200,
          body: RUNNER_PLATFORMS.map((platform, index) => {
            const [os = '', architecture = ''] = platform.split('-');
            return {
              os,
              architecture,
              download_url: assets[index]?.browser_download_url,
              filename: assets[index]?.name,
              sha256_checksum: model.releases.digest(latest.version, platform),
            };
          }),
        };
      },
    },
    {
      api: 'github',
      method: 'POST',
      path: '/app/installations/:installationId/access_tokens',
      endpoint: 'github.app.installationToken',
      handle: (request) => {
        requireAuth(request);
        return {
          status: 201,
          body: {
            token: `ghs_${randomBytes(18).toString('hex')}`,
            expires_at: new Date(model.now() + TOKEN_LIFETIME_MS).toISOString(),
            permissions: { organization_self_hosted_runners: 'write', metadata: 'read' },
            repository_selection: 'all',
          },
        };
      },
    },
    {
      api: 'github',
      method: 'GET',
      path: '/repos/actions/runner/releases',
      endpoint: 'github.releases.list',
      handle: (request) => {
        requirePublicRead(request);
        // "Only users with push access will receive listings for draft releases"
        // (https://docs.github.com/en/rest/releases/releases#list-releases): the engine never has push access.
        const releases = model.releases.all().filter((release) => !release.draft);
        const page = paginate(request, releases.length);
        return {
          status: 200,
          headers: page.headers,
          body: releases.slice(page.start, page.end).map((release) => releaseResource(release, request.origin)),
        };
      },
    },
    {
      api: 'github',
      method: 'GET',
      path: '/repos/actions/runner/releases/latest',
      endpoint: 'github.releases.latest',
      handle: (request) => {
        requirePublicRead(request);
        const latest = model.releases.latest();
        if (latest === undefined) throw new GitHubApiError(404, 'Not Found');
        return { status: 200, body: releaseResource(latest, request.origin) };
      },
    },
    {
      api: 'github',
      method: 'GET',
      path: '/repos/actions/runner/releases/tags/:tag',
      endpoint: 'github.releases.byTag',
      handle: (request) => {
        requirePublicRead(request);
        const release = model.releases.find((request.params['tag'] ?? '').replace(/^v/, ''));
        if (release === undefined) throw new GitHubApiError(404, 'Not Found');
        return { status: 200, body: releaseResource(release, request.origin) };
      },
    },
    {
      api: 'github',
      method: 'GET',
      path: '/actions/runner/releases/download/:tag/:file',
      endpoint: 'github.releases.download',
      handle: (request) => {
        const version = (request.params['tag'] ?? '').replace(/^v/, '');
        const release = model.releases.find(version);
        const platform = RUNNER_PLATFORMS.find((candidate) => assetName(version, candidate) === request.params['file']);
        if (release === undefined || platform === undefined) throw new GitHubApiError(404, 'Not Found');
        return { status: 200, bytes: assetBytes(version, platform) };
      },
    },
  ];
}

/** The `created` search qualifier, as `>=ISO` (or `>ISO`); returns epoch ms. */
function parseCreatedFilter(created: string): number {
  const match = /^>=?(.+)$/.exec(created);
  const at = match?.[1] === undefined ? Number.NaN : Date.parse(match[1]);
  if (Number.isNaN(at)) {
    throw new GitHubApiError(422, `Invalid created filter "${created}": use >=YYYY-MM-DDTHH:MM:SSZ`);
  }
  return at;
}

function requireAuth(request: ApiRequest): void {
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') throw new GitHubApiError(401, 'Requires authentication');
}

/** One page of a listing GitHub wraps as `{ total_count, <key>: [...] }`, with its Link headers. */
function countedPage<T>(
  request: ApiRequest,
  key: string,
  items: readonly T[],
  resource: (item: T) => unknown,
): ApiResponse {
  const page = paginate(request, items.length);
  return {
    status: 200,
    headers: page.headers,
    body: { total_count: items.length, [key]: items.slice(page.start, page.end).map(resource) },
  };
}

/** `per_page` (default 30, at most 100) and `page`, with Link headers carrying absolute URLs back here. */
function paginate(request: ApiRequest, total: number): { start: number; end: number; headers: Record<string, string> } {
  const perPageRaw = request.query.get('per_page');
  const pageRaw = request.query.get('page');
  const perPage = perPageRaw === null ? 30 : Number(perPageRaw);
  const page = pageRaw === null ? 1 : Number(pageRaw);
  if (!Number.isInteger(perPage) || perPage < 1 || !Number.isInteger(page) || page < 1) {
    throw new GitHubApiError(
      422,
      `Invalid pagination: per_page=${perPageRaw ?? ''} page=${pageRaw ?? ''} (positive integers expected)`,
    );
  }
  const size = Math.min(perPage, 100);
  const lastPage = Math.max(1, Math.ceil(total / size));
  const link = (target: number, rel: string): string => {
    const url = new URL(request.url.pathname + request.url.search, request.origin);
    url.searchParams.set('per_page', String(size));
    url.searchParams.set('page', String(target));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, 'prev'));
  if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
  if (page > 1) links.push(link(1, 'first'));
  return {
    start: (page - 1) * size,
    end: page * size,
    headers: links.length === 0 ? {} : { link: links.join(', ') },
  };
}
