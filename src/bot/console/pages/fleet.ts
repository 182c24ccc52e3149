import type { FleetPage, FleetQuery } from '../../read/fleet.ts';
import { when, href, html, type Html } from '../html.ts';
import { pager, state } from '../layout.ts';

// Fleet: every host a page at a time, with what each runs and whether it needs a look.

const params = (query: FleetQuery) => ({
  q: query.q,
  label: query.label,
  quiet: query.quiet,
  problems: query.problems,
  page: query.page,
});

/** The filters, then the hosts, which follow the fleet's jobs live (the filters are left as they are). */
export function fleetView(fleet: FleetPage, query: FleetQuery): Html {
  return html`
<form class="filters" method="get" action="/console/fleet" role="search">
  <label>Name, id or plugin <input type="search" name="q" value="${query.q ?? ''}"></label>
  <label>Label <select name="label"><option value="">any</option>${fleet.labels.map((l) => html`<option${l === query.label ? html` selected` : ''}>${l}</option>`)}</select></label>
  <label class="check"><input type="checkbox" name="quiet" value="true"${query.quiet ? html` checked` : ''}> went quiet</label>
  <label class="check"><input type="checkbox" name="problems" value="true"${query.problems ? html` checked` : ''}> inventory problems</label>
  <button type="submit">Filter</button>
</form>
<div data-live="/console/fleet/stream" data-fragment="${href('/console/fleet/live', params(query))}" aria-live="polite">${fleetHosts(fleet, query)}</div>`;
}

/** A page of hosts: the part of the fleet page that follows the fleet live. */
export function fleetHosts(fleet: FleetPage, query: FleetQuery): Html {
  const pages = Math.max(1, Math.ceil(fleet.total / fleet.perPage));
  const link = (page: number) => href('/console/fleet', { ...params(query), page });
  return html`
<p class="muted">${fleet.total} host${fleet.total === 1 ? '' : 's'}; page ${fleet.page} of ${pages}.</p>
<table>
  <caption>Hosts</caption>
  <thead><tr><th scope="col">Host</th><th scope="col">Labels</th><th scope="col">Policy</th><th scope="col">Mode</th><th scope="col">Last heard</th>
  <th scope="col">Plugins installed</th><th scope="col">Recent jobs</th></tr></thead>
  <tbody>${fleet.hosts.map(
    (h) => html`<tr>
    <td><a href="/console/hosts/${encodeURIComponent(h.id)}">${h.name}</a><br><span class="mono muted">${h.id}</span>${h.enabled ? '' : html`<br><span class="quiet">disabled</span>`}</td>
    <td>${h.labels.join(', ') || html`<span class="muted">none</span>`}</td>
    <td>${h.policy} / ${h.channel}</td>
    <td>${h.enrolled ? reachedBy(h) : html`<span class="quiet">not enrolled</span>`}</td>
    <td>${h.quiet ? html`<span class="quiet">quiet since ${when(h.lastSeenAt)}</span>` : when(h.lastSeenAt)}</td>
    <td>${h.inventory.length ? h.inventory.map((p) => html`<span class="mono">${p.pluginId} ${p.version ?? 'missing'}</span>${p.problem ? html` <span class="state-failed">(${p.problem})</span>` : ''}<br>`) : html`<span class="muted">none</span>`}</td>
    <td>${h.recentJobs.length ? h.recentJobs.map((j) => html`<a href="/console/rollouts/${encodeURIComponent(j.rolloutId)}">${j.pluginId} ${j.action}</a> ${state(j.state)}<br>`) : html`<span class="muted">none</span>`}</td>
  </tr>`,
  )}</tbody>
</table>
${pager(fleet.page, pages, link, 'Pages')}`;
}

function reachedBy(host: { url: string | null }): string {
  return host.url ? 'push' : 'pull';
}
