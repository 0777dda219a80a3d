/**
 * What the deadline replay prints: one line per release of the window and a summary line (docs/benchmarks.md,
 * "GitHub's 30-day deadline", describes each column).
 */
import type { ReleaseRecord, ReplayReport } from './deadline-replay-run.js';
import { DAY_MS, deadlineOf } from './release-history.js';

/** `d12 01-13`: days since the window's start and the date. */
function dayOf(ms: number | undefined, fromMs: number): string {
  if (ms === undefined) return '-';
  return `d${Math.floor((ms - fromMs) / DAY_MS)} ${new Date(ms).toISOString().slice(5, 10)}`;
}

/** Days from the fleet running the release to its deadline; absent while the fleet has not got there. */
export function slackDays(record: ReleaseRecord): number | undefined {
  if (record.fleetOnAtMs === undefined) return undefined;
  return (deadlineOf(record.release) - record.fleetOnAtMs) / DAY_MS;
}

export function formatReport(report: ReplayReport): string {
  const { fromMs } = report;
  const header = [
    'release',
    'published',
    'detected',
    'rollout (soak)',
    'fleet on it',
    'deadline',
    'slack',
    'escalations',
    'human',
  ];
  const rows = report.records.map((record) => {
    const slack = slackDays(record);
    const rollout =
      record.rolloutStartedAtMs === undefined
        ? '-'
        : `${dayOf(record.rolloutStartedAtMs, fromMs)} (${record.soak ?? '?'})${record.outcome === undefined ? '' : ` ${record.outcome}`}`;
    return [
      record.release.tag,
      dayOf(record.release.publishedAtMs, fromMs),
      dayOf(record.detectedAtMs, fromMs),
      rollout,
      dayOf(record.fleetOnAtMs, fromMs),
      dayOf(deadlineOf(record.release), fromMs),
      slack === undefined ? '-' : `${slack.toFixed(1)} d`,
      summariseEscalations(record.escalations),
      String(record.humanActions),
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line), summaryLine(report)].join('\n');
}

function summariseEscalations(escalations: readonly string[]): string {
  if (escalations.length === 0) return '0';
  const counts = new Map<string, number>();
  for (const escalation of escalations) counts.set(escalation, (counts.get(escalation) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${count}× ${kind}`).join(', ');
}

export function summary(report: ReplayReport): {
  readonly releases: number;
  readonly missedDeadlineDays: number;
  readonly humanActionsPerRelease: number;
  readonly minimumSlackDays: number | undefined;
} {
  const slacks = report.records.map(slackDays).filter((slack): slack is number => slack !== undefined);
  const actions = report.records.reduce((total, record) => total + record.humanActions, 0);
  return {
    releases: report.records.length,
    missedDeadlineDays: report.missedDays.length,
    humanActionsPerRelease: report.records.length === 0 ? 0 : actions / report.records.length,
    minimumSlackDays: slacks.length === 0 ? undefined : Math.min(...slacks),
  };
}

function summaryLine(report: ReplayReport): string {
  const figures = summary(report);
  const days = (report.toMs - report.fromMs) / DAY_MS;
  return [
    `summary: ${figures.releases} releases`,
    `${figures.missedDeadlineDays} missed-deadline days${report.missedDays.length > 0 ? ` (days ${report.missedDays.join(', ')})` : ''}`,
    `${figures.humanActionsPerRelease.toFixed(2)} human actions per release`,
    `minimum slack ${figures.minimumSlackDays === undefined ? '-' : `${figures.minimumSlackDays.toFixed(1)} d`}`,
    `${report.checks} checks (${report.failedChecks} failed)`,
    `${days} simulated days in ${report.realSeconds.toFixed(0)} s real${report.auto ? ', auto-approve' : ''}`,
  ].join(', ');
}
