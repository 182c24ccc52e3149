import { describeWindow } from '../../rollout/maintenance-windows.ts';
import type { PublisherSummary } from '../../../protocol/messages.ts';
import type { RecentJob } from '../../read/fleet.ts';
import type { HostRecord } from '../../store/hosts.ts';
import { when, html, type Html } from '../html.ts';
import { state } from '../layout.ts';

// One host: how it is reached and steered, what its site has (with an uninstall for each plugin), its jobs.

/** `csrf` null: the operator's role may not uninstall, so no button is offered. */
/** A host's page: what is known of it and its site, live (its jobs and reports change it). */
export function hostLiveView(host: HostRecord, jobs: readonly RecentJob[], csrf: string | null): Html {
  const at = `/console/hosts/${encodeURIComponent(host.id)}`;
  return html`<div data-live="${at}/stream" data-fragment="${at}/live" aria-live="polite">${hostView(host, jobs, csrf)}</div>`;
}

export function hostView(host: HostRecord, jobs: readonly RecentJob[], csrf: string | null): Html {
  return html`
<dl class="facts">
  <dt>Id</dt><dd class="mono">${host.id}</dd>
  <dt>Reached by</dt><dd>${host.enrolled ? reachedBy(host.url) : 'not enrolled yet'}</dd>
  <dt>Policy</dt><dd>${host.policy}, ${host.channel} channel${host.enabled ? '' : ', disabled'}</dd>
  <dt>Labels</dt><dd>${host.labels.join(', ') || 'none'}</dd>
  <dt>Maintenance windows</dt><dd>${host.windows?.length ? `${host.windows.map(describeWindow).join('; ')} (${host.timeZone ?? 'UTC'})` : "none of its own (its labels' apply)"}</dd>
  <dt>Last heard</dt><dd>${when(host.lastSeenAt)}${host.agentVersion ? `, agent ${host.agentVersion}` : ''}</dd>
  <dt>Checks publishers</dt><dd>${
    host.publishers && Object.keys(host.publishers).length
      ? Object.entries(host.publishers).map(
          ([plugin, trust]) =>
            html`<span class="mono">${plugin === '*' ? 'every other plugin' : plugin}</span>: ${trustText(trust)}<br>`,
        )
      : 'none (installs what the bot sends)'
  }</dd>
  <dt>Follows</dt><dd>${host.plugins.map((p) => html`<span class="mono">${p.repository}:${p.pluginId}</span><br>`)}</dd>
</dl>
<h2>What the site has</h2>
<table>
  <caption>Plugins on the site, from its files</caption>
  <thead><tr><th scope="col">Plugin</th><th scope="col">Version</th><th scope="col">Package</th><th scope="col">Consistency</th><th scope="col">Action</th></tr></thead>
  <tbody>${host.inventory.length ? '' : html`<tr><td colspan="5">None: the site reports no plugin.</td></tr>`}${host.inventory.map(
    (p) => html`<tr>
    <td class="mono">${p.pluginId}</td><td>${p.version ?? 'missing'}</td><td class="mono">${p.sha256?.slice(0, 12) ?? ''}</td>
    <td>${p.problem ? html`<span class="state-failed">${p.problem}</span>` : 'consistent'}</td>
    <td>${
      csrf === null
        ? ''
        : html`<form method="post" action="/console/hosts/${encodeURIComponent(host.id)}/uninstall" class="inline">
      <input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="plugin" value="${p.pluginId}">
      <button type="submit" class="danger">Uninstall ${p.pluginId}</button></form>`
    }</td>
  </tr>`,
  )}</tbody>
</table>
<h2>Jobs</h2>
<table>
  <caption>The host's latest jobs</caption>
  <thead><tr><th scope="col">Plugin</th><th scope="col">Action</th><th scope="col">State</th><th scope="col">Exit code</th><th scope="col">Updated</th></tr></thead>
  <tbody>${jobs.map(
    (j) =>
      html`<tr><td><a href="/console/rollouts/${encodeURIComponent(j.rolloutId)}">${j.pluginId}</a></td><td>${j.action}</td><td>${state(j.state)}</td><td>${j.exitCode ?? ''}</td><td>${when(j.updatedAt)}</td></tr>`,
  )}</tbody>
</table>`;
}

function reachedBy(url: string | null) {
  return url ? html`push to <span class="mono">${url}</span>` : 'pull (the agent polls the bot)';
}

/** What a host checks for one plugin: keys, trust on first use, build provenance. */
function trustText(trust: PublisherSummary): string {
  const parts: string[] = [];
  if (trust.keyIds.length) parts.push(`key ${trust.keyIds.join(', ')}`);
  else if (trust.trustOnFirstUse) parts.push('no key yet');
  if (trust.trustOnFirstUse) parts.push('trusts on first use');
  const built = trust.provenance;
  if (built)
    parts.push(
      `built by ${built.repository}${built.workflow ? `/${built.workflow}` : ''}${built.tagPattern ? ` for tags ${built.tagPattern}` : ''}`,
    );
  return parts.join('; ');
}
