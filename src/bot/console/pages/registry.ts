import { provenanceText, publisherText, type RegistryPlugin, type RegistryVersion } from '../../read/registry.ts';
import { when, html, type Html } from '../html.ts';

// Registry: the plugins and versions the bot knows from releases, and who runs each version.

export function registryView(plugins: readonly RegistryPlugin[], q: string | undefined): Html {
  return html`
<form class="filters" method="get" action="/console/registry" role="search">
  <label>Plugin or repository <input type="search" name="q" value="${q ?? ''}"></label>
  <button type="submit">Search</button>
  <a href="/console/registry.json${q ? `?q=${encodeURIComponent(q)}` : ''}">as JSON</a>
</form>
<div data-live="/console/registry/stream" data-fragment="/console/registry/live${q ? `?q=${encodeURIComponent(q)}` : ''}" aria-live="polite">${registryTable(plugins, q)}</div>`;
}

/** The plugins found (also served alone, for the live update). */
export function registryTable(plugins: readonly RegistryPlugin[], q: string | undefined): Html {
  return html`${
    plugins.length
      ? html`<table>
  <caption>Plugins</caption>
  <thead><tr><th scope="col">Plugin</th><th scope="col">Repository</th><th scope="col">Latest</th><th scope="col">Versions</th><th scope="col">Hosts running it</th></tr></thead>
  <tbody>${plugins.map(
    (p) => html`<tr>
    <td><a href="/console/registry/${p.repository}/${encodeURIComponent(p.pluginId)}">${p.pluginId}</a></td><td>${p.repository}</td>
    <td>${p.latest} <span class="muted">${when(p.latestAt)}</span></td><td>${p.versions}</td><td>${p.hosts}</td>
  </tr>`,
  )}</tbody>
</table>`
      : html`<p>No plugin${q ? ` matches "${q}"` : ' has a resolved release yet'}.</p>`
  }`;
}

/** `csrf` null: the operator's role may not yank, so no button is offered. */
export function registryPluginView(
  repository: string,
  pluginId: string,
  versions: readonly RegistryVersion[],
  webBase: string,
  csrf: string | null,
): Html {
  const at = `/console/registry/${repository}/${encodeURIComponent(pluginId)}`;
  return html`
<p><a href="/console/registry">All plugins</a> · <a href="${at}.json">as JSON</a></p>
<div data-live="/console/registry/stream" data-fragment="${at}/live" aria-live="polite">${versionsTable(repository, pluginId, versions, webBase, csrf)}</div>`;
}

/** A plugin's versions (also served alone, for the live update). */
export function versionsTable(
  repository: string,
  pluginId: string,
  versions: readonly RegistryVersion[],
  webBase: string,
  csrf: string | null,
): Html {
  return html`<table>
  <caption>Versions of ${pluginId} in ${repository}</caption>
  <thead><tr><th scope="col">Version</th><th scope="col">Tag</th><th scope="col">Package</th><th scope="col">SHA-256</th><th scope="col">Publisher</th><th scope="col">Needs</th><th scope="col">Hosts running it</th><th scope="col">Status</th></tr></thead>
  <tbody>${versions.map(
    (v) => html`<tr${v.yanked ? html` class="yanked"` : ''}>
    <td>${v.version}${v.prerelease ? html` <span class="muted">(pre-release)</span>` : ''}</td>
    <td><a href="${webBase}/${repository}/releases/tag/${encodeURIComponent(v.tag)}">${v.tag}</a><br><span class="muted">${v.publishedAt ? when(v.publishedAt) : ''}</span></td>
    <td>${v.size === null ? '' : `${(v.size / 1024).toFixed(1)} KiB`}</td>
    <td class="mono">${v.sha256 ?? ''}</td>
    <td>${publisherText(v.publisher)}<br><span class="muted">${provenanceText(v.publisher)}</span></td>
    <td>${v.dependencies.map((d) => html`<span class="mono">${d.id} ${d.min ?? ''}${d.max ? `–${d.max}` : ''}</span><br>`)}</td>
    <td>${v.hosts.length ? v.hosts.map((h) => html`<a href="/console/hosts/${encodeURIComponent(h.id)}">${h.name}</a><br>`) : html`<span class="muted">none</span>`}</td>
    <td>${statusCell(repository, pluginId, v, csrf)}</td>
  </tr>`,
  )}</tbody>
</table>`;
}

/** Yanked or not (with why), its rollout, and the button that changes it. */
function statusCell(repository: string, pluginId: string, v: RegistryVersion, csrf: string | null): Html {
  const action = `/console/registry/${repository}/${encodeURIComponent(pluginId)}/${encodeURIComponent(v.version)}`;
  const rollout = v.rolloutId
    ? html`<br><a href="/console/rollouts/${encodeURIComponent(v.rolloutId)}">its rollout</a>`
    : '';
  const mark = v.yanked
    ? html`<strong class="bad">Yanked</strong> ${when(v.yanked.at)}${v.yanked.by ? ` by ${v.yanked.by}` : ''}: ${v.yanked.reason}`
    : 'available';
  const button = csrf
    ? html`<form method="post" action="${action}/${v.yanked ? 'unyank' : 'yank'}" class="inline">
      <input type="hidden" name="csrf" value="${csrf}">
      <button type="submit"${v.yanked ? '' : html` class="danger"`}>${v.yanked ? 'Un-yank' : 'Yank'} ${v.version}</button></form>`
    : '';
  return html`${mark}${rollout}<br>${button}`;
}

/** A yank asks why, and whether the hosts running the version go back, before it is done. */
export function yankFormView(
  repository: string,
  pluginId: string,
  version: string,
  csrf: string,
  hostsRunning: number,
): Html {
  const back = `/console/registry/${repository}/${encodeURIComponent(pluginId)}`;
  return html`
<p>Yank ${pluginId} ${version}? Nothing of it is sent any more: its rollout is paused and its unsent jobs held;
approvals, retries, forces and rollbacks to it are refused until it is un-yanked. Jobs already on their hosts go on.</p>
<form method="post" action="${back}/${encodeURIComponent(version)}/yank" class="settings">
  <input type="hidden" name="csrf" value="${csrf}">
  <input type="hidden" name="confirm" value="yes">
  <label>Why (operators read it) <textarea name="reason" rows="2" required maxlength="500"></textarea></label>
  <label class="check"><input type="checkbox" name="rollback" value="true"> also roll back the hosts its rollout updated (${hostsRunning} run it now)</label>
  <p class="actions"><button type="submit" class="danger">Yank ${version}</button> <a href="${back}" autofocus>No, go back</a></p>
</form>`;
}
