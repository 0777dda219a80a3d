/**
 * What a client's GitHub traffic costs, counted the way GitHub counts it and in simulated time: requests charged
 * against the primary limit per simulated hour (a 304 to a conditional request is free), the most requests in
 * flight at once (the secondary limit refuses past 100), and how many answers were rate-limit refusals.
 * https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
 */

const HOUR_MS = 3600_000;

export interface GitHubTrafficHour {
  /** Start of the simulated hour, counted from when the record started. */
  readonly from: string;
  readonly charged: number;
  readonly notModified: number;
}

export interface GitHubTrafficView {
  readonly since: string;
  readonly charged: number;
  readonly notModified: number;
  /** The most charged requests in any one simulated hour of the record. */
  readonly peakChargedPerHour: number;
  readonly peakConcurrent: number;
  readonly primaryLimited: number;
  readonly secondaryLimited: number;
  readonly hours: readonly GitHubTrafficHour[];
}

/** The record as a snapshot keeps it; requests in flight end with the process. */
export interface GitHubTrafficRecord {
  readonly since: number;
  readonly hours: readonly Hour[];
  readonly peakConcurrent: number;
  readonly primaryLimited: number;
  readonly secondaryLimited: number;
}

interface Hour {
  charged: number;
  notModified: number;
}

export class GitHubTraffic {
  private since: number;
  private hours: Hour[] = [];
  private inFlight = 0;
  private peakConcurrent = 0;
  private primaryLimited = 0;
  private secondaryLimited = 0;

  constructor(private readonly now: () => number) {
    this.since = now();
  }

  /** A request GitHub answers (not refused): charged until `notModified` says otherwise. */
  answered(): { notModified(): void; finished(): void } {
    const hour = this.hour();
    hour.charged++;
    this.inFlight++;
    this.peakConcurrent = Math.max(this.peakConcurrent, this.inFlight);
    let finished = false;
    return {
      notModified: () => {
        hour.charged--;
        hour.notModified++;
      },
      finished: () => {
        if (finished) return;
        finished = true;
        this.inFlight--;
      },
    };
  }

  refused(limit: 'primary' | 'secondary'): void {
    if (limit === 'primary') this.primaryLimited++;
    else this.secondaryLimited++;
  }

  /** Starts the record over from now (requests in flight stay counted as in flight). */
  reset(): void {
    this.since = this.now();
    this.hours = [];
    this.peakConcurrent = this.inFlight;
    this.primaryLimited = 0;
    this.secondaryLimited = 0;
  }

  record(): GitHubTrafficRecord {
    return {
      since: this.since,
      hours: this.hours.map((hour) => ({ ...hour })),
      peakConcurrent: this.peakConcurrent,
      primaryLimited: this.primaryLimited,
      secondaryLimited: this.secondaryLimited,
    };
  }

  restore(record: GitHubTrafficRecord): void {
    this.since = record.since;
    this.hours = record.hours.map((hour) => ({ ...hour }));
    this.peakConcurrent = record.peakConcurrent;
    this.primaryLimited = record.primaryLimited;
    this.secondaryLimited = record.secondaryLimited;
  }

  view(): GitHubTrafficView {
    const hours = this.hours.map((hour, index) => ({
      from: new Date(this.since + index * HOUR_MS).toISOString(),
      charged: hour.charged,
      notModified: hour.notModified,
    }));
    return {
      since: new Date(this.since).toISOString(),
      charged: hours.reduce((sum, hour) => sum + hour.charged, 0),
      notModified: hours.reduce((sum, hour) => sum + hour.notModified, 0),
      peakChargedPerHour: hours.reduce((peak, hour) => Math.max(peak, hour.charged), 0),
      peakConcurrent: this.peakConcurrent,
      primaryLimited: this.primaryLimited,
      secondaryLimited: this.secondaryLimited,
      hours,
    };
  }

  private hour(): Hour {
    const index = Math.max(0, Math.floor((this.now() - this.since) / HOUR_MS));
    for (let i = this.hours.length; i <= index; i++) this.hours.push({ charged: 0, notModified: 0 });
    const hour = this.hours[index];
    if (hour === undefined) throw new Error(`no traffic hour ${index}`);
    return hour;
  }
}
