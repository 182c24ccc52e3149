import type { EventFilter, EventRecord } from '../../read/events.ts';
import { href, html, type Html } from '../html.ts';

// Events: the log of outcomes, halts and operator actions, filtered, a page at a time, exportable.

export function eventsView(events: readonly EventRecord[], filter: EventFilter, kinds: readonly string[]): Html {
  const params = { kind: filter.kind, host: filter.hostId, plugin: filter.pluginId };
  const next = events.length ? href('/console/events', { ...params, after: events[events.length - 1].id }) : undefined;
  return html`
<form class="filters" method="get" action="/console/events">
  <label>Kind <select name="kind"><option value="">any</option>${kinds.map((k) => html`<option${k === filter.kind ? html` selected` : ''}>${k}</option>`)}</select></label>
  <label>Host id <input type="text" name="host" value="${filter.hostId ?? ''}"></label>
  <label>Plugin <input type="text" name="plugin" value="${filter.pluginId ?? ''}"></label>
  <button type="submit">Filter</button>
  <a href="${href('/console/events.csv', params)}">Export CSV</a>
  <a href="${href('/console/events.jsonl', params)}">Export JSON lines</a>
</form>
<table>
  <caption>Events, oldest first</caption>
  <thead><tr><th scope="col">#</th><th scope="col">When (UTC)</th><th scope="col">Kind</th><th scope="col">Plugin</th><th scope="col">Host</th><th scope="col">Detail</th></tr></thead>
  <tbody>${events.map(
    (
      e,
    ) => html`<tr><td>${e.id}</td><td>${e.at.replace('T', ' ').slice(0, 19)}</td><td>${e.kind}</td><td>${e.pluginId ?? ''}</td>
    <td>${e.hostId ? html`<a href="/console/hosts/${encodeURIComponent(e.hostId)}">${e.hostId}</a>` : ''}</td><td class="mono">${JSON.stringify(e.detail ?? {})}</td></tr>`,
  )}</tbody>
</table>
${next && events.length >= (filter.limit ?? 100) ? html`<nav class="pager" aria-label="Pages"><a href="${next}" rel="next">Later events</a></nav>` : ''}`;
}

/** One event as a CSV row (RFC 4180 quoting). */
export function csvRow(values: ReadonlyArray<string | number | null>): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

function csvField(value: unknown): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
