/**
 * The organisation's self-hosted runners as one snapshot per worker, shared by every MIG's waits, health checks
 * and drains. GitHub lists runners only per organisation (its `name` filter is exact), so a listing per MIG would
 * cost every page of the organisation per MIG per poll: thousands of requests an hour on a large fleet, past a
 * GitHub App installation's 5,000. Here one listing serves every MIG, it is refreshed no more often than its
 * budget allows, and each page is asked for conditionally: an unchanged page answers 304, which GitHub does not
 * count against the rate limit (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate).
 */
import { FailureType, httpErrorFacts, transientFailure } from './failures.js';
import type { ActivityRuntime } from './runtime.js';

export interface GitHubRunner {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  readonly busy: boolean;
  readonly labels: ReadonlyArray<{ readonly name: string }>;
}

interface CachedPage {
  readonly etag: string | undefined;
  readonly runners: readonly GitHubRunner[];
  readonly hasNext: boolean;
}

const PER_PAGE = 100;

export class RunnerSnapshot {
  private pages: CachedPage[] = [];
  private takenAtMs: number | undefined;
  private refreshing: Promise<readonly GitHubRunner[]> | undefined;
  private readonly forgotten = new Set<number>();

  /**
   * The runners as of at most `timing.runnerSnapshotMaxAgeMs` ago, or longer where the hourly listing budget
   * spaces refreshes further apart; `fresh` lists now (a drain's last look before deleting).
   */
  async runners(runtime: ActivityRuntime, fresh = false): Promise<readonly GitHubRunner[]> {
    const nowMs = runtime.now().getTime();
    if (!fresh && this.takenAtMs !== undefined && nowMs - this.takenAtMs < this.refreshIntervalMs(runtime)) {
      return this.current();
    }
    // Callers that arrive while a listing runs share it rather than sending their own.
    this.refreshing ??= this.refresh(runtime).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** A runner this worker removed: gone from the snapshot at once, without waiting for the next listing. */
  forget(runnerId: number): void {
    this.forgotten.add(runnerId);
  }

  /**
   * The snapshot's age limit: the configured maximum, or longer when the listing's pages would otherwise spend
   * more than the hourly budget (a fleet of thousands of runners has dozens of pages).
   */
  private refreshIntervalMs(runtime: ActivityRuntime): number {
    const { runnerSnapshotMaxAgeMs, runnerListingsPerHour } = runtime.timing;
    const pages = Math.max(1, this.pages.length);
    return Math.max(runnerSnapshotMaxAgeMs, (pages * 3_600_000) / runnerListingsPerHour);
  }

  private current(): GitHubRunner[] {
    return this.pages.flatMap((page) => page.runners).filter((runner) => !this.forgotten.has(runner.id));
  }

  private async refresh(runtime: ActivityRuntime): Promise<readonly GitHubRunner[]> {
    const { github, fleet } = runtime.deps;
    const org = fleet.github.org;
    const pages: CachedPage[] = [];
    for (let page = 1; ; page++) {
      const cached = this.pages[page - 1];
      const fetched = await runtime.call(`list runners of ${org} (page ${page})`, async () => {
        try {
          const response = await github.request('GET /orgs/{org}/actions/runners', {
            org,
            per_page: PER_PAGE,
            page,
            headers: cached?.etag === undefined ? {} : { 'if-none-match': cached.etag },
          });
          // A body cut off on the way reaches Octokit as an empty 200: never take it for an empty organisation.
          if (!Array.isArray((response.data as { runners?: unknown }).runners)) {
            throw transientFailure(
              FailureType.UNAVAILABLE,
              `list runners of ${org} (page ${page}): GitHub's answer has no runner list (cut off on the way?)`,
            );
          }
          return {
            etag: response.headers.etag,
            runners: response.data.runners,
            hasNext: /\brel="next"/.test(response.headers.link ?? ''),
          } satisfies CachedPage;
        } catch (error) {
          // Octokit throws on 304; for us it means the cached page is still the truth.
          if (cached !== undefined && httpErrorFacts(error)?.status === 304) return cached;
          throw error;
        }
      });
      pages.push(fetched);
      if (!fetched.hasNext) break;
    }
    this.pages = pages;
    this.takenAtMs = runtime.now().getTime();
    const listed = new Set(pages.flatMap((page) => page.runners.map((runner) => runner.id)));
    for (const id of this.forgotten) if (!listed.has(id)) this.forgotten.delete(id);
    return this.current();
  }
}
