/**
 * The simulator's snapshot file: the fleet's world (snapshot-world.ts) with the request log and the GitHub traffic
 * record the control API reports, under a format version. Written whole to a temporary file and renamed over the
 * last one, so a process killed mid-write leaves the previous snapshot; never changed when it cannot be read.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { FleetDefinition } from '../runner-config/types.js';
import type { GitHubTrafficRecord } from './github-traffic.js';
import type { EndpointCounter, MutationLogEntry } from './request-log.js';
import { SnapshotError } from './snapshot-restore.js';
import type { WorldRecord } from './snapshot-world.js';

export { SnapshotError } from './snapshot-restore.js';

/** Bumped whenever the snapshot's shape changes: a snapshot of another version is refused, never guessed at. */
export const SNAPSHOT_FORMAT_VERSION = 1;

export interface SimulatorSnapshot {
  readonly formatVersion: typeof SNAPSHOT_FORMAT_VERSION;
  /** Real time of the save (ISO), for the operator; the world's own time is `world.now`. */
  readonly savedAt: string;
  readonly world: WorldRecord;
  readonly requestLog: {
    readonly counters: Record<string, EndpointCounter>;
    readonly mutations: readonly MutationLogEntry[];
    readonly nextSeq: number;
  };
  readonly githubTraffic: GitHubTrafficRecord;
}

const list = z.array(z.unknown());
/** The parts every snapshot has; what they hold is checked as the world is rebuilt (snapshot-restore.ts). */
const snapshotShape = z.object({
  formatVersion: z.literal(SNAPSHOT_FORMAT_VERSION),
  savedAt: z.string(),
  world: z.object({
    fleet: z.looseObject({}),
    seed: z.number(),
    now: z.number(),
    ids: z.object({ resource: z.number(), runner: z.number(), job: z.number() }),
    behaviours: z.record(z.string(), z.boolean()),
    jobRates: list,
    faults: z.object({ config: z.looseObject({}), remaining: list }),
    releases: z.object({ records: list, nextId: z.number() }),
    ...Object.fromEntries(
      [
        'templates',
        'pools',
        'migs',
        'instances',
        'runners',
        'jobs',
        'recentJobs',
        'killedJobs',
        'jobCounts',
        'operations',
        'operationsByRequestId',
        'events',
      ].map((key) => [key, list]),
    ),
  }),
  requestLog: z.object({ counters: z.record(z.string(), z.unknown()), mutations: list, nextSeq: z.number() }),
  githubTraffic: z.looseObject({ since: z.number(), hours: list }),
});

/** The snapshot in `file`, or undefined when there is none; a SnapshotError when it cannot be used. */
export function readSnapshot(file: string, fleet: FleetDefinition): SimulatorSnapshot | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SnapshotError(`cannot read the simulator snapshot ${file}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new SnapshotError(`the simulator snapshot ${file} is corrupt (not JSON)`);
  }
  const version = (data as { formatVersion?: unknown } | null)?.formatVersion;
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotError(
      `the simulator snapshot ${file} has format version ${JSON.stringify(version ?? null)}; this simulator reads version ${SNAPSHOT_FORMAT_VERSION}`,
    );
  }
  const parsed = snapshotShape.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SnapshotError(
      `the simulator snapshot ${file} is corrupt (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
    );
  }
  const snapshot = data as SimulatorSnapshot;
  if (JSON.stringify(snapshot.world.fleet) !== JSON.stringify(fleet)) {
    throw new SnapshotError(`the simulator snapshot ${file} holds the world of another fleet definition`);
  }
  return snapshot;
}

export function writeSnapshot(file: string, snapshot: Omit<SimulatorSnapshot, 'formatVersion' | 'savedAt'>): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const whole: SimulatorSnapshot = {
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    savedAt: new Date().toISOString(),
    ...snapshot,
  };
  writeFileSync(temporary, JSON.stringify(whole));
  renameSync(temporary, file);
}

/**
 * The seed of a restored world's random streams: the saved seed mixed with the time of the save, so the streams
 * do not replay the draws (instance names, arrival gaps) the world already made.
 */
export function continuedSeed(seed: number, now: number): number {
  return (Math.imul(seed ^ (now % 0x1_0000_0000), 0x9e3779b1) ^ Math.floor(now / 0x1_0000_0000)) >>> 0;
}
