/**
 * Deadline replay: a runner release history replayed through the real runner-version check and the rollouts it
 * starts, on the time-skipping test server and the simulator (bench/deadline-replay-run.ts). Prints one line per
 * release and a summary; the format is described in docs/benchmarks.md ("GitHub's 30-day deadline").
 *
 *   bash scripts/bench deadline-replay [--releases FILE.tsv] [--from DATE] [--to DATE] [--auto] [--json]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport, summary } from './deadline-replay-report.js';
import { replayReleaseHistory } from './deadline-replay-run.js';
import { DAY_MS, parseReleaseHistory, ReleaseHistoryError } from './release-history.js';

const DEFAULT_HISTORY = 'test/fixtures/release-history/synthetic-year.tsv';
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function usage(message: string): never {
  console.error(`deadline-replay: ${message}`);
  console.error('usage: deadline-replay [--releases FILE.tsv] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--auto] [--json]');
  process.exit(2);
}

function dateOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
  if (Number.isNaN(ms)) usage(`--${name} "${value}" is not a date (YYYY-MM-DD)`);
  return ms;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      releases: { type: 'string', default: DEFAULT_HISTORY },
      from: { type: 'string' },
      to: { type: 'string' },
      auto: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  let text: string;
  try {
    text = readFileSync(values.releases, 'utf8');
  } catch (error) {
    usage(`cannot read --releases ${values.releases}: ${(error as Error).message}`);
  }
  let releases;
  try {
    releases = parseReleaseHistory(text, values.releases);
  } catch (error) {
    if (error instanceof ReleaseHistoryError) usage(error.message);
    throw error;
  }
  const first = releases[0]?.publishedAtMs ?? 0;
  const last = releases.reduce((latest, release) => Math.max(latest, release.publishedAtMs), first);
  const fromMs = dateOption(values.from, 'from') ?? Math.floor(first / DAY_MS) * DAY_MS;
  const toMs = dateOption(values.to, 'to') ?? (Math.floor(last / DAY_MS) + 31) * DAY_MS;
  if (toMs <= fromMs) usage(`--to must come after --from`);
  const report = await replayReleaseHistory({
    releases,
    fromMs,
    toMs,
    auto: values.auto,
    progress: (line) => console.error(line),
  });
  if (values.json) {
    console.log(JSON.stringify({ ...report, summary: summary(report) }, null, 2));
  } else {
    console.log(formatReport(report));
  }
}

await main();
