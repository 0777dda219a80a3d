/**
 * List requests: the `filter` expression (gcp-filter.ts) and paging by `maxResults` and `pageToken`, as
 * https://cloud.google.com/compute/docs/reference/rest/v1/regionInstanceGroupManagers/list describes them.
 */
import { ComputeApiError } from './errors.js';
import { compileFilter, FilterError } from './gcp-filter.js';
import type { ApiRequest, ApiResponse } from './routing.js';

export function compileOrThrow(filter: string | null, refuseRegexWithLogic: boolean): (resource: unknown) => boolean {
  try {
    return compileFilter(filter, { refuseRegexWithLogic });
  } catch (error) {
    if (error instanceof FilterError) throw new ComputeApiError(400, 'invalid', error.message);
    throw error;
  }
}

interface Page {
  readonly items: readonly unknown[];
  readonly nextPageToken?: string;
}

function filterAndPage(request: ApiRequest, all: readonly unknown[], refuseRegexWithLogic: boolean): Page {
  const items = all.filter(compileOrThrow(request.query.get('filter'), refuseRegexWithLogic));
  const maxRaw = request.query.get('maxResults');
  const maxResults = maxRaw === null ? 500 : Number(maxRaw);
  if (!Number.isInteger(maxResults) || maxResults < 0 || maxResults > 500) {
    throw new ComputeApiError(
      400,
      'invalid',
      `Invalid value for field 'maxResults': '${maxRaw ?? ''}'. Must be an integer from 0 to 500.`,
    );
  }
  const token = request.query.get('pageToken');
  let offset = 0;
  if (token !== null && token !== '') {
    offset = Number(
      Buffer.from(token, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(offset) || offset < 0) {
      throw new ComputeApiError(
        400,
        'invalid',
        `Invalid value for field 'pageToken': '${token}'. Use a nextPageToken from a previous page.`,
      );
    }
  }
  const size = maxResults === 0 ? 500 : maxResults;
  const page = items.slice(offset, offset + size);
  const next = offset + size < items.length ? Buffer.from(`offset:${offset + size}`).toString('base64url') : undefined;
  return { items: page, ...(next === undefined ? {} : { nextPageToken: next }) };
}

function listBody(kind: string, selfLink: string, page: Page): Record<string, unknown> {
  return {
    kind,
    id: selfLink,
    items: page.items,
    selfLink,
    ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
  };
}

/** The answer to a list request: the items the filter keeps, one page of them, as a list resource of `kind`. */
export function listAnswer(
  request: ApiRequest,
  kind: string,
  selfLink: string,
  items: readonly unknown[],
  refuseRegexWithLogic: boolean,
): ApiResponse {
  return { status: 200, body: listBody(kind, selfLink, filterAndPage(request, items, refuseRegexWithLogic)) };
}
