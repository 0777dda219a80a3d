/**
 * Every event that can trigger a GitHub Actions workflow run. The pre-job hook refuses a job whose triggering
 * event is not on its runner group's allow-list; the fleet rules refuse allow-list entries not named here, so a
 * typo cannot silently lock a group out.
 */
export const GITHUB_EVENTS = [
  'branch_protection_rule',
  'check_run',
  'check_suite',
  'create',
  'delete',
  'deployment',
  'deployment_status',
  'discussion',
  'discussion_comment',
  'fork',
  'gollum',
  'issue_comment',
  'issues',
  'label',
  'merge_group',
  'milestone',
  'page_build',
  'public',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'pull_request_target',
  'push',
  'registry_package',
  'release',
  'repository_dispatch',
  'schedule',
  'status',
  'watch',
  'workflow_call',
  'workflow_dispatch',
  'workflow_run',
] as const;
export type GitHubEvent = (typeof GITHUB_EVENTS)[number];

/**
 * Events that run code from a pull request's head (possibly from a fork): only a minimal-trust group should
 * accept them.
 */
export const UNTRUSTED_CODE_EVENTS: readonly GitHubEvent[] = [
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'pull_request_target',
];
