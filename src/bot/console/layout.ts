import { html, type Html } from './html.ts';
import type { Role } from './roles.ts';
import type { Session } from './session.ts';

// Every console page: the same header (the sections, who is signed in, sign out) around its content.

const SECTIONS: Array<[path: string, label: string]> = [
  ['/console/fleet', 'Fleet'],
  ['/console/rollouts', 'Rollouts'],
  ['/console/registry', 'Registry'],
  ['/console/events', 'Events'],
];

export function page(
  title: string,
  body: Html,
  options: { session?: Session & { role?: Role }; current?: string } = {},
): string {
  const nav = options.session
    ? html`<nav aria-label="Sections"><ul>${[
        ...SECTIONS,
        ...(options.session.role === 'admin' ? [['/console/notifications', 'Notifications'] as const] : []),
      ].map(
        ([path, label]) =>
          html`<li><a href="${path}"${options.current === path ? html` aria-current="page"` : ''}>${label}</a></li>`,
      )}</ul></nav>
      <form method="post" action="/console/sign-out">
        <input type="hidden" name="csrf" value="${options.session.csrf}">
        <span class="muted">${options.session.login}${options.session.role ? ` (${options.session.role})` : ''}</span> <button type="submit">Sign out</button>
      </form>
      ${
        options.session.role === 'admin'
          ? html`<form method="post" action="/console/sign-out-everyone">
        <input type="hidden" name="csrf" value="${options.session.csrf}">
        <button type="submit">Sign out everyone</button>
      </form>`
          : ''
      }`
    : '';
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Conn2Flow release console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the content</a>
<header><a class="brand" href="/console/fleet">Conn2Flow release console</a>${nav}</header>
<main id="main">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`}`;
}

/** A state as a word with its colour (never colour alone). */
export function state(value: string): Html {
  return html`<span class="state-${value}">${value.replace(/_/g, ' ')}</span>`;
}

/** Previous and next links for a paged list; `link` gives a page's address. */
export function pager(page: number, pages: number, link: (page: number) => string, label: string): Html {
  return html`<nav class="pager" aria-label="${label}">
  ${page > 1 ? html`<a href="${link(page - 1)}" rel="prev">Previous page</a>` : ''}
  ${page < pages ? html`<a href="${link(page + 1)}" rel="next">Next page</a>` : ''}
</nav>`;
}
