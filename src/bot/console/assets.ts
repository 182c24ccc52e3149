// The console's stylesheet and its one script, served from the bot (the Content-Security-Policy allows
// nothing else). Pages work without the script: it only brings a rollout's page up to date as it changes
// (server-sent events, then the server-rendered table again).

export const CONSOLE_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4b5563; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa; --link: #0550ae;
  --ok: #116329; --bad: #a40e26; --warn: #7d4e00; --focus: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; z-index: 2; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); background: var(--soft); flex-wrap: wrap; }
header .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
header nav ul { display: flex; flex-wrap: wrap; gap: .4rem 1rem; list-style: none; margin: 0; padding: 0; }
header nav a[aria-current="page"] { font-weight: 700; color: var(--fg); }
header form { margin-left: auto; }
main { padding: 1rem 1.2rem 3rem; max-width: 110rem; }
h1 { font-size: 1.4rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; color: var(--muted); }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; }
td code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .88em; }
form.filters { display: flex; gap: .8rem; align-items: flex-end; flex-wrap: wrap; margin-bottom: .6rem; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
form.filters label.check { flex-direction: row; gap: .3rem; align-items: center; }
form.settings { display: flex; flex-direction: column; gap: .6rem; max-width: 36rem; margin-bottom: 1rem; }
form.settings label { display: flex; flex-direction: column; gap: .2rem; }
form.settings label.check { flex-direction: row; gap: .3rem; align-items: center; }
form.settings input[type=text], form.settings textarea, form.settings select { font: inherit; padding: .3rem; max-width: 100%; }
form.settings button { align-self: flex-start; }
pre.command { overflow-wrap: anywhere; }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid #8c959f; border-radius: 4px; background: var(--bg); color: var(--fg); }
button { cursor: pointer; background: var(--soft); }
button.primary { background: #1f6f3b; color: #fff; border-color: #1f6f3b; }
button.danger { background: #a40e26; color: #fff; border-color: #a40e26; }
form.inline { display: inline; }
.actions { display: flex; gap: .5rem; flex-wrap: wrap; margin: .6rem 0; }
.state-ok { color: var(--ok); font-weight: 600; }
.bad, .state-failed, .state-dead_lettered, .state-blocked, .state-halted, .state-aborted { color: var(--bad); font-weight: 600; }
.state-pending, .state-awaiting_approval, .state-paused, .quiet { color: var(--warn); font-weight: 600; }
.notice { padding: .6rem .8rem; border: 1px solid var(--line); border-left: 4px solid var(--focus); background: var(--soft); margin: .6rem 0 1rem; }
.notice.error { border-left-color: var(--bad); }
.pager { display: flex; gap: 1rem; align-items: center; }
details summary { cursor: pointer; color: var(--link); }
pre { white-space: pre-wrap; background: var(--soft); padding: .5rem; border-radius: 4px; margin: .3rem 0; font-size: .85em; }
.bar { display: inline-flex; width: 8rem; height: .7rem; border: 1px solid #8c959f; border-radius: 3px; overflow: hidden; vertical-align: middle; background: var(--bg); }
.bar-ok { background: var(--ok); } .bar-failed { background: var(--bad); } .bar-held { background: var(--warn); }
${Array.from({ length: 21 }, (_, i) => `.w${i * 5} { width: ${i * 5}%; }`).join(' ')}
td, dd, .mono { overflow-wrap: anywhere; }
/* A phone (375 px): no sideways scrolling; each table row becomes a card, its cells stacked. */
@media (max-width: 40rem) {
  main { padding: .6rem .6rem 2rem; }
  header { gap: .6rem; padding: .5rem .6rem; }
  table, thead, tbody, tr, th, td, caption { display: block; width: 100%; }
  thead tr { position: absolute; left: -9999px; }
  tr { border: 1px solid var(--line); border-radius: 4px; margin: 0 0 .6rem; padding: .3rem 0; }
  td { border-bottom: 0; padding: .2rem .6rem; }
  dl.facts { grid-template-columns: 1fr; }
  pre { overflow-x: auto; }
}
.muted { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
`;

export const CONSOLE_JS = `
// Brings the live part of a page up to date when the server says it changed (a change that comes while the
// last one is being fetched is fetched again after it, so the page always ends on the latest state). Only
// what changed is touched: a row that did not change keeps its very elements, so a button being pressed is
// never replaced between the press and the release of the mouse.
(function () {
  var live = document.querySelector('[data-live]');
  if (!live || !window.EventSource) return;
  var source = new EventSource(live.getAttribute('data-live'));
  var busy = false;
  var again = false;
  var shown = null;
  function morph(from, to) {
    if (from.nodeType !== to.nodeType || from.nodeName !== to.nodeName) { from.replaceWith(to.cloneNode(true)); return; }
    if (from.nodeType !== 1) { if (from.nodeValue !== to.nodeValue) from.nodeValue = to.nodeValue; return; }
    if (from.isEqualNode(to)) return;
    var i;
    for (i = 0; i < to.attributes.length; i++) {
      var a = to.attributes[i];
      if (from.getAttribute(a.name) !== a.value) from.setAttribute(a.name, a.value);
    }
    for (i = from.attributes.length - 1; i >= 0; i--) if (!to.hasAttribute(from.attributes[i].name)) from.removeAttribute(from.attributes[i].name);
    if (from.childNodes.length !== to.childNodes.length) {
      from.replaceChildren.apply(from, Array.prototype.map.call(to.childNodes, function (n) { return n.cloneNode(true); }));
      return;
    }
    for (i = 0; i < to.childNodes.length; i++) morph(from.childNodes[i], to.childNodes[i]);
  }
  function show(text) {
    if (text === null || text === shown) return;
    shown = text;
    var next = live.cloneNode(false);
    next.innerHTML = text;
    morph(live, next);
    if (window.c2fTimes) window.c2fTimes(live);
  }
  // While the stream is down (the bot stopped, the network went), the page says it may be out of date; once
  // it is back, the page catches up at once.
  function offline(on) {
    var banner = document.getElementById('c2f-offline');
    if (on && !banner) {
      banner = document.createElement('p');
      banner.id = 'c2f-offline';
      banner.className = 'notice error';
      banner.setAttribute('role', 'alert');
      banner.textContent = 'Lost the connection to the bot: this page may be out of date. Reconnecting…';
      live.parentNode.insertBefore(banner, live);
    } else if (!on && banner) banner.remove();
  }
  var opened = false;
  source.addEventListener('open', function () {
    offline(false);
    if (opened) refresh();
    opened = true;
  });
  source.addEventListener('error', function () { offline(true); });
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(live.getAttribute('data-fragment'), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(show)
      .finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  source.addEventListener('change', refresh);
})();

// Every <time> in the browser's own time zone (its UTC stays on hover), and "how long ago" kept moving.
(function () {
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  var zone = 'local time';
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || zone; } catch (e) {}
  function local(d) {
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' +
      pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + ' ' + zone;
  }
  function ago(iso) {
    var s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    var a = Math.abs(s);
    var t = Math.round(a / 86400) + ' d';
    if (a < 60) t = a + ' s';
    else if (a < 3600) t = Math.round(a / 60) + ' min';
    else if (a < 86400) t = Math.round(a / 3600) + ' h';
    return s < 0 ? 'in ' + t : t + ' ago';
  }
  function update(root) {
    root.querySelectorAll('time[datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d.getTime())) t.textContent = local(d);
    });
    root.querySelectorAll('[data-ago]').forEach(function (s) { s.textContent = '(' + ago(s.getAttribute('data-ago')) + ')'; });
  }
  window.c2fTimes = update;
  update(document);
  setInterval(function () { update(document); }, 15000);
})();
`;
