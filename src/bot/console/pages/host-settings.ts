import { describeWindow } from '../../rollout/maintenance-windows.ts';
import type { EnrollToken } from '../../rollout/fleet-actions.ts';
import type { HostRecord } from '../../store/hosts.ts';
import { html, type Html } from '../html.ts';

// The fleet managed from the console: a new host's enrollment token, a host's settings, its removal. Each form
// goes to a confirmation page first, like every other action.

const options = (values: readonly string[], chosen: string) =>
  values.map((v) => html`<option${v === chosen ? html` selected` : ''}>${v}</option>`);

function scheduleFields(labels: string, timeZone: string, windows: string): Html {
  return html`
  <label>Labels (comma-separated) <input type="text" name="labels" value="${labels}"></label>
  <label>Time zone of its windows <input type="text" name="timeZone" value="${timeZone}" placeholder="Europe/Lisbon"></label>
  <label>Maintenance windows, one per line <textarea name="windows" rows="3" placeholder="mon-fri 22:00-06:00">${windows}</textarea></label>`;
}

export function enrollFormView(csrf: string): Html {
  return html`
<p>A token lets one agent enroll itself as this host within a day. The next page shows the command to run on the site.</p>
<form method="post" action="/console/hosts/new" class="settings">
  <input type="hidden" name="csrf" value="${csrf}">
  <label>Name <input type="text" name="name" required maxlength="200"></label>
  <label>Plugins it follows, one owner/repo:plugin-id per line <textarea name="plugins" rows="3" placeholder="conn2flow/plugins:hello-plugin"></textarea></label>
  <label>Policy <select name="policy">${options(['auto', 'notify', 'manual'], 'auto')}</select></label>
  <label>Channel <select name="channel">${options(['stable', 'prerelease'], 'stable')}</select></label>
  ${scheduleFields('', '', '')}
  <button type="submit" class="primary">Create the token</button>
</form>`;
}

export function enrolledView(created: EnrollToken): Html {
  return html`
<p class="notice" role="status">Host <a href="/console/hosts/${encodeURIComponent(created.host.id)}">${created.host.name}</a> (<span class="mono">${created.host.id}</span>) waits for its agent. The token is shown once and expires at ${created.expiresAt}.</p>
<h2>On the host</h2>
<p>Run this where the site's gestor folder is (without <code>--url</code> the agent polls the bot for its jobs):</p>
<pre class="command">${created.agentCommand}</pre>`;
}

export function hostSettingsView(host: HostRecord, csrf: string): Html {
  const id = encodeURIComponent(host.id);
  return html`
<h2>Settings</h2>
<form method="post" action="/console/hosts/${id}/edit" class="settings">
  <input type="hidden" name="csrf" value="${csrf}">
  <label>Policy <select name="policy">${options(['auto', 'notify', 'manual'], host.policy)}</select></label>
  <label>Channel <select name="channel">${options(['stable', 'prerelease'], host.channel)}</select></label>
  <label class="check"><input type="checkbox" name="enabled" value="true"${host.enabled ? html` checked` : ''}> takes jobs</label>
  ${scheduleFields(host.labels.join(', '), host.timeZone ?? '', (host.windows ?? []).map(describeWindow).join('\n'))}
  <button type="submit">Save the settings</button>
</form>
<h2>Remove</h2>
<form method="post" action="/console/hosts/${id}/remove" class="inline">
  <input type="hidden" name="csrf" value="${csrf}">
  <button type="submit" class="danger">Remove ${host.name}</button>
</form>`;
}
