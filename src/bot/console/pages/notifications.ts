import type { NotificationDelivery, NotificationTarget } from '../../store/notifications.ts';
import { NOTIFICATION_KINDS } from '../../store/notifications.ts';
import { html, type Html, when } from '../html.ts';
import { state } from '../layout.ts';

// Notifications (admins): the endpoints told of halts, failures, blocks, completions and yanks, a form to add
// one, and each endpoint's deliveries.

export function notificationsView(targets: readonly NotificationTarget[], csrf: string): Html {
  return html`
<p>Each message is a JSON POST signed the Standard Webhooks way, with a <code>text</code> a person reads: a Slack
incoming-webhook URL works as it is. Failed sends are tried again for about a day.</p>
${
  targets.length
    ? html`<table>
  <caption>Endpoints</caption>
  <thead><tr><th scope="col">Endpoint</th><th scope="col">Repository</th><th scope="col">Told of</th><th scope="col">Added</th><th scope="col">Act</th></tr></thead>
  <tbody>${targets.map(
    (t) => html`<tr>
    <td><a href="/console/notifications/${encodeURIComponent(t.id)}">${t.url}</a><br><span class="muted mono">${t.id}</span></td>
    <td>${t.repository ?? 'every repository'}</td>
    <td>${t.kinds.join(', ')}</td>
    <td>${when(t.createdAt)}${t.createdBy ? ` by ${t.createdBy}` : ''}</td>
    <td><form method="post" action="/console/notifications/${encodeURIComponent(t.id)}/remove" class="inline"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="danger">Remove<span class="skip"> ${t.id}</span></button></form></td>
  </tr>`,
  )}</tbody>
</table>`
    : html`<p>No endpoint is told anything yet.</p>`
}
<h2>Add an endpoint</h2>
<form method="post" action="/console/notifications/new" class="settings">
  <input type="hidden" name="csrf" value="${csrf}">
  <label>URL <input type="text" name="url" required placeholder="https://hooks.slack.com/services/…"></label>
  <label>Only this repository (owner/repo; empty: every one) <input type="text" name="repository"></label>
  <fieldset><legend>Tell it of</legend>${NOTIFICATION_KINDS.map(
    (kind) => html`<label class="check"><input type="checkbox" name="kinds" value="${kind}" checked> ${kind}</label>`,
  )}</fieldset>
  <label class="check"><input type="checkbox" name="allowHttp" value="true"> plain http allowed</label>
  <label class="check"><input type="checkbox" name="allowPrivateNetwork" value="true"> a loopback or private address allowed</label>
  <button type="submit" class="primary">Add the endpoint</button>
</form>`;
}

export function addedView(target: NotificationTarget, secret: string): Html {
  return html`
<p class="notice" role="status">Endpoint <span class="mono">${target.id}</span> added. Its signing secret is shown once: give it to the receiver, which verifies every message with it.</p>
<pre class="command">${secret}</pre>
<p><a href="/console/notifications">All endpoints</a></p>`;
}

export function deliveriesView(target: NotificationTarget, deliveries: readonly NotificationDelivery[]): Html {
  const at = `/console/notifications/${encodeURIComponent(target.id)}`;
  return html`
<p><a href="/console/notifications">All endpoints</a> · ${target.url} · ${target.repository ?? 'every repository'} · ${target.kinds.join(', ')}</p>
<div data-live="${at}/stream" data-fragment="${at}/live" aria-live="polite">${deliveriesTable(deliveries)}</div>`;
}

/** An endpoint's latest deliveries (also served alone, for the live update). */
export function deliveriesTable(deliveries: readonly NotificationDelivery[]): Html {
  return html`${
    deliveries.length
      ? html`<table>
  <caption>Latest deliveries</caption>
  <thead><tr><th scope="col">Made</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Event</th></tr></thead>
  <tbody>${deliveries.map(
    (d) => html`<tr>
    <td>${when(d.createdAt)}</td><td>${d.kind}</td><td>${state(d.state)}${d.state === 'pending' ? html`<br><span class="muted">next ${when(d.nextAttemptAt)}</span>` : ''}</td>
    <td>${d.attempts}</td><td>${d.lastStatus === null ? '' : `${d.lastStatus} `}${d.lastError ?? ''}</td>
    <td class="mono">${d.eventId}</td>
  </tr>`,
  )}</tbody>
</table>`
      : html`<p>No deliveries yet.</p>`
  }`;
}
