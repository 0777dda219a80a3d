/**
 * How a runner looks on GitHub, as opposed to what it is doing: its listed `busy` flag catches up with job
 * starts and ends only seconds later, and a VM that dies without deregistering leaves its runner listed offline.
 * Listing fields: https://docs.github.com/en/rest/actions/self-hosted-runners#list-self-hosted-runners-for-an-organization
 */
import type { Random } from './random.js';

/** GitHub lists a changed `busy` flag this many milliseconds after the change, seeded per change. */
const BUSY_LAG_MIN_MS = 5_000;
const BUSY_LAG_MAX_MS = 30_000;
/**
 * Share of idle runners whose VM deletion skips the deregistration at shutdown. GCE runs shutdown scripts on a
 * best-effort basis and cuts them off after the shutdown period (https://cloud.google.com/compute/docs/shutdownscript),
 * so a deleted VM's `config.sh remove` does not always finish; one in ten keeps failures visible without making
 * every listing mostly offline runners.
 */
const IDLE_LEFT_REGISTERED_SHARE = 0.1;
/**
 * "An ephemeral self-hosted runner is automatically removed from GitHub if it has not connected to GitHub Actions
 * for more than 1 day" (https://docs.github.com/en/actions/concepts/runners/communicating-with-self-hosted-runners).
 */
export const OFFLINE_EPHEMERAL_EXPIRY_MS = 24 * 3600_000 + 1;

export interface Shown {
  readonly at: number;
  readonly busy: boolean;
}

interface Presence {
  busy: boolean;
}

export class RunnerPresence {
  /** Per runner, the busy values GitHub will list and from when, oldest first; always starts idle. */
  private readonly shown = new WeakMap<Presence, Shown[]>();

  constructor(private readonly random: Random) {}

  /** Call after every change of `runner.busy`. */
  busyChanged(runner: Presence, now: number): void {
    const log = this.shown.get(runner) ?? [];
    const lag = BUSY_LAG_MIN_MS + this.random.int(BUSY_LAG_MAX_MS - BUSY_LAG_MIN_MS + 1);
    // A later change never shows before an earlier one.
    log.push({ at: Math.max(now + lag, log.at(-1)?.at ?? 0), busy: runner.busy });
    while (log.length > 1 && (log[1]?.at ?? Infinity) <= now) log.shift();
    this.shown.set(runner, log);
  }

  /** The busy values still to be listed, for a snapshot. */
  shownOf(runner: Presence): readonly Shown[] {
    return this.shown.get(runner) ?? [];
  }

  restoreShown(runner: Presence, shown: readonly Shown[]): void {
    if (shown.length > 0) this.shown.set(runner, [...shown]);
  }

  /** The `busy` flag a listing shows now: exact, or (stale) the last change that has become visible. */
  listedBusy(runner: Presence, now: number, stale: boolean): boolean {
    if (!stale) return runner.busy;
    let busy = false;
    for (const entry of this.shown.get(runner) ?? []) if (entry.at <= now) busy = entry.busy;
    return busy;
  }

  /**
   * Whether a runner outlives its VM as an offline registration. One that was running a job always does: the
   * job ends only when GitHub gives up on the runner, and GitHub refuses to remove a runner with a job.
   */
  leftRegistered(wasBusy: boolean): boolean {
    return wasBusy || this.random.next() < IDLE_LEFT_REGISTERED_SHARE;
  }
}
