import { printable } from '../../printable.ts';

// HTML built by a tagged template that escapes every value unless it is already HTML (another template's
// result): a host's name or an installer's log line can never become markup.

export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(printable(String(value)));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return new Html(out);
}

/** A URL with query parameters, escaped where it is written. */
export function href(path: string, params: Record<string, string | number | boolean | undefined | null> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '' && value !== false) query.set(key, String(value));
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** "3 min ago", "2 h ago", "4 d ago": how long ago, for tables. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  const span = Math.abs(seconds);
  let amount = `${Math.round(span / 86400)} d`;
  if (span < 60) amount = `${span} s`;
  else if (span < 3600) amount = `${Math.round(span / 60)} min`;
  else if (span < 86400) amount = `${Math.round(span / 3600)} h`;
  return seconds < 0 ? `in ${amount}` : `${amount} ago`;
}

/**
 * A moment as every page shows it: a <time> in UTC, which the console's script rewrites in the browser's own
 * time zone (UTC stays on hover), with how long ago (or how soon) beside it, kept moving by the script.
 */
export function when(iso: string | null, now = Date.now()): Html {
  if (!iso) return html`never`;
  const utc = `${iso.replace('T', ' ').slice(0, 19)} UTC`;
  return html`<time datetime="${iso}" title="${utc}">${utc}</time> <span class="ago" data-ago="${iso}">(${ago(iso, now)})</span>`;
}
