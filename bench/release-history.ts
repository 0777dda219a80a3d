/**
 * A runner release history for the deadline replay: the TSV it is read from (`tag<TAB>date`, one release a line)
 * and GitHub's 30-day rule over it. GitHub stops queueing jobs to a runner older than a release published more
 * than 30 days ago, so the clock of version X starts at the first release newer than X, patch releases included.
 */
import { RUNNER_RELEASE_TAG } from '../activities/release.js';
import { compareRunnerVersions } from '../runner-config/runner-versions.js';
import { RUNNER_UPDATE_WINDOW_DAYS } from '../workflows/runner-version-check-contract.js';

export const DAY_MS = 24 * 3600 * 1000;
const WINDOW_MS = RUNNER_UPDATE_WINDOW_DAYS * DAY_MS;

/** A date alone (`2025-01-06`, midnight UTC) or a timestamp as GitHub writes `published_at`. */
const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

export interface HistoryRelease {
  readonly tag: string;
  readonly version: string;
  readonly publishedAtMs: number;
}

export class ReleaseHistoryError extends Error {
  override readonly name = 'ReleaseHistoryError';
}

/**
 * The releases of a TSV history, in publication order (a tie keeps the file's order). Blank lines and `#`
 * comments are skipped; every bad line is named, with its number, in one error.
 */
export function parseReleaseHistory(text: string, source = 'release history'): HistoryRelease[] {
  const releases: HistoryRelease[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const number = index + 1;
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const fields = line.split('\t');
    const [tag = '', date = ''] = fields.map((field) => field.trim());
    if (fields.length !== 2) {
      problems.push(`line ${number}: expected "tag<TAB>date", got ${fields.length} field(s): "${line}"`);
      return;
    }
    const version = RUNNER_RELEASE_TAG.exec(tag)?.[1];
    if (version === undefined)
      problems.push(`line ${number}: tag "${tag}" is not of the form v<major>.<minor>.<patch>`);
    const publishedAtMs = DATE.test(date) ? Date.parse(date.length === 10 ? `${date}T00:00:00Z` : date) : NaN;
    if (Number.isNaN(publishedAtMs)) {
      problems.push(`line ${number}: date "${date}" is neither YYYY-MM-DD nor an ISO 8601 timestamp`);
    }
    if (version === undefined || Number.isNaN(publishedAtMs)) return;
    const earlier = seen.get(version);
    if (earlier !== undefined) {
      problems.push(`line ${number}: ${tag} is already on line ${earlier}`);
      return;
    }
    seen.set(version, number);
    releases.push({ tag, version, publishedAtMs });
  });
  if (problems.length > 0) throw new ReleaseHistoryError(`${source}: ${problems.join('; ')}`);
  if (releases.length === 0) throw new ReleaseHistoryError(`${source}: no releases`);
  return releases
    .map((release, order) => ({ release, order }))
    .sort((a, b) => a.release.publishedAtMs - b.release.publishedAtMs || a.order - b.order)
    .map(({ release }) => release);
}

/** When GitHub stops queueing jobs to `version`: 30 days after the first newer release (undefined: none yet). */
export function expiryOf(version: string, releases: readonly HistoryRelease[], nowMs: number): number | undefined {
  let clockStart: number | undefined;
  for (const release of releases) {
    if (release.publishedAtMs > nowMs || compareRunnerVersions(release.version, version) <= 0) continue;
    if (clockStart === undefined || release.publishedAtMs < clockStart) clockStart = release.publishedAtMs;
  }
  return clockStart === undefined ? undefined : clockStart + WINDOW_MS;
}

/**
 * By when every runner must run `release` or newer: every older version's clock has started by its publication,
 * so none lasts past 30 days after it.
 */
export function deadlineOf(release: HistoryRelease): number {
  return release.publishedAtMs + WINDOW_MS;
}

/** The versions among `versions` that GitHub no longer queues jobs to at `nowMs`. */
export function expiredVersions(
  versions: Iterable<string>,
  releases: readonly HistoryRelease[],
  nowMs: number,
): string[] {
  return [...versions].filter((version) => {
    const expiry = expiryOf(version, releases, nowMs);
    return expiry !== undefined && expiry <= nowMs;
  });
}

/** The newest release published at or before `atMs` (by version: a backport never counts as the newest). */
export function newestAt(releases: readonly HistoryRelease[], atMs: number): HistoryRelease | undefined {
  let newest: HistoryRelease | undefined;
  for (const release of releases) {
    if (release.publishedAtMs > atMs) continue;
    if (newest === undefined || compareRunnerVersions(release.version, newest.version) > 0) newest = release;
  }
  return newest;
}
