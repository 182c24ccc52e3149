import type { EventFilter, EventRecord } from '../../read/events.ts';
import { href, html, when, type Html } from '../html.ts';

// Events: the log of outcomes, halts and operator actions, newest first, filtered, a page at a time, exportable.

export function eventsView(events: readonly EventRecord[], filter: EventFilter, kinds: readonly string[]): Html {
  const params = linkParams(filter);
  const older = events.length
    ? href('/console/events', { ...params, before: events[events.length - 1].id })
    : undefined;
  return html`
<form class="filters" method="get" action="/console/events">
  <label>Kind <select name="kind"><option value="">any</option>${kinds.map((k) => html`<option${k === filter.kind ? html` selected` : ''}>${k}</option>`)}</select></label>
  <label>Rollout id <input type="text" name="rollout" value="${filter.rolloutId ?? ''}"></label>
  <label>Host id <input type="text" name="host" value="${filter.hostId ?? ''}"></label>
  <label>Plugin <input type="text" name="plugin" value="${filter.pluginId ?? ''}"></label>
  <label>Who acted <input type="text" name="actor" value="${filter.actor ?? ''}"></label>
  <button type="submit">Filter</button>
  <a href="${href('/console/events.csv', params)}">Export CSV</a>
  <a href="${href('/console/events.jsonl', params)}">Export JSON lines</a>
</form>
${
  filter.before
    ? eventsTable(events, filter, older)
    : html`<div data-live="/console/events/stream" data-fragment="${href('/console/events/live', params)}" aria-live="polite">${eventsTable(events, filter, older)}</div>`
}`;
}

/** A page of events (the newest page is also served alone, for the live update). */
export function eventsTable(events: readonly EventRecord[], filter: EventFilter, older: string | undefined): Html {
  return html`<table>
  <caption>Events, newest first</caption>
  <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Who</th><th scope="col">Plugin</th><th scope="col">Host</th><th scope="col">Detail</th></tr></thead>
  <tbody>${events.length ? '' : html`<tr><td colspan="7">None.</td></tr>`}${events.map(
    (
      e,
    ) => html`<tr><td>${e.id}</td><td>${when(e.at)}</td><td>${e.kind}</td><td>${e.actor ?? ''}</td><td>${e.pluginId ?? ''}</td>
    <td>${hostCell(e)}</td><td class="mono">${JSON.stringify(withoutActor(e.detail))}</td></tr>`,
  )}</tbody>
</table>
${older && events.length >= (filter.limit ?? 100) ? html`<nav class="pager" aria-label="Pages"><a href="${older}" rel="next">Older events</a></nav>` : ''}`;
}

/** The newest page of events for these filters, as the live update fetches it. */
export function newestEvents(events: readonly EventRecord[], filter: EventFilter): Html {
  const older = events.length
    ? href('/console/events', { ...linkParams(filter), before: events[events.length - 1].id })
    : undefined;
  return eventsTable(events, filter, older);
}

function linkParams(filter: EventFilter) {
  return {
    kind: filter.kind,
    host: filter.hostId,
    plugin: filter.pluginId,
    rollout: filter.rolloutId,
    actor: filter.actor,
  };
}

/** The host by name, its id on hover; a removed host by its id. */
function hostCell(e: EventRecord): Html | string {
  if (!e.hostId) return '';
  if (!e.hostName) return html`<span class="mono">${e.hostId}</span>`;
  return html`<a href="/console/hosts/${encodeURIComponent(e.hostId)}" title="${e.hostId}">${e.hostName}</a>`;
}

function withoutActor(detail: Record<string, unknown> | null): Record<string, unknown> {
  const { by: _by, ...rest } = detail ?? {};
  return rest;
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
