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
${
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

export function registryPluginView(
  repository: string,
  pluginId: string,
  versions: readonly RegistryVersion[],
  webBase: string,
): Html {
  return html`
<p><a href="/console/registry">All plugins</a> · <a href="/console/registry/${repository}/${encodeURIComponent(pluginId)}.json">as JSON</a></p>
<table>
  <caption>Versions of ${pluginId} in ${repository}</caption>
  <thead><tr><th scope="col">Version</th><th scope="col">Tag</th><th scope="col">Package</th><th scope="col">SHA-256</th><th scope="col">Publisher</th><th scope="col">Needs</th><th scope="col">Hosts running it</th></tr></thead>
  <tbody>${versions.map(
    (v) => html`<tr>
    <td>${v.version}${v.prerelease ? html` <span class="muted">(pre-release)</span>` : ''}</td>
    <td><a href="${webBase}/${repository}/releases/tag/${encodeURIComponent(v.tag)}">${v.tag}</a><br><span class="muted">${v.publishedAt ? when(v.publishedAt) : ''}</span></td>
    <td>${v.size === null ? '' : `${(v.size / 1024).toFixed(1)} KiB`}</td>
    <td class="mono">${v.sha256 ?? ''}</td>
    <td>${publisherText(v.publisher)}<br><span class="muted">${provenanceText(v.publisher)}</span></td>
    <td>${v.dependencies.map((d) => html`<span class="mono">${d.id} ${d.min ?? ''}${d.max ? `–${d.max}` : ''}</span><br>`)}</td>
    <td>${v.hosts.length ? v.hosts.map((h) => html`<a href="/console/hosts/${encodeURIComponent(h.id)}">${h.name}</a><br>`) : html`<span class="muted">none</span>`}</td>
  </tr>`,
  )}</tbody>
</table>`;
}
