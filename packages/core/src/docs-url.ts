/** The repository address is set here once: every help text and error that points at the docs goes through it. */
export const DOCS_BASE_URL = 'https://github.com/smn-js/smn/blob/main/docs/';

/**
 * The web address of a page under docs/ (installed packages do not ship the docs folder), optionally at a heading.
 *
 * @example docsUrl('config.md', 'overrides') // 'https://github.com/smn-js/smn/blob/main/docs/config.md#overrides'
 */
export function docsUrl(page: string, anchor?: string): string {
  return `${DOCS_BASE_URL}${page}${anchor ? `#${anchor}` : ''}`;
}
