/**
 * The check's findings as a person, a CI log or a program reads them: `file:line:col: level: message` lines, GitHub
 * Actions workflow commands that annotate the file in a pull request
 * (https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/workflow-commands-for-github-actions#setting-an-error-message),
 * or JSON.
 */
import type { Finding } from './check.js';

export const REPORT_FORMATS = ['text', 'github'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface CheckReport {
  readonly files: number;
  readonly errors: number;
  readonly warnings: number;
  readonly findings: readonly Finding[];
}

export function checkReport(files: number, findings: readonly Finding[]): CheckReport {
  return {
    files,
    errors: findings.filter((finding) => finding.level === 'error').length,
    warnings: findings.filter((finding) => finding.level === 'warning').length,
    findings,
  };
}

export function renderReport(report: CheckReport, format: ReportFormat): string {
  const lines = report.findings.map((finding) =>
    format === 'github'
      ? `::${finding.level} file=${property(finding.file)},line=${finding.line},col=${finding.col}::${data(finding.message)}`
      : `${finding.file}:${finding.line}:${finding.col}: ${finding.level}: ${finding.message}`,
  );
  const summary = `${count(report.files, 'workflow file')}: ${count(report.errors, 'error')}, ${count(report.warnings, 'warning')}`;
  return [...lines, format === 'github' ? `::notice::${data(summary)}` : summary].join('\n');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Workflow commands end a message at a newline and treat `%` as an escape. */
function data(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** Property values also end at `,` and `:`. */
function property(text: string): string {
  return data(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}
