import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, href, html } from '../../src/bot/console/html.ts';
import { cookie, newSession, openSession, sealSession } from '../../src/bot/console/session.ts';
import { parseCookies } from '../../src/bot/http/request-input.ts';
import { SecretBox } from '../../src/bot/store/secret-box.ts';

// The console's session cookie and its HTML: a cookie that was changed, signed with another key or expired
// opens no session; values never become markup.

const box = SecretBox.fromEnvironment(Buffer.alloc(32, 3).toString('base64'));

test('a session cookie opens only as it was sealed, with this key, before it expires', () => {
  const session = newSession('octo-operator', 'Octo', Date.parse('2026-11-29T10:00:00Z'));
  const sealed = sealSession(box, session);
  const at = Date.parse('2026-11-29T12:00:00Z');
  assert.deepEqual(openSession(box, sealed, at), session);
  assert.equal(session.csrf.length >= 32, true);
  const [payload, mac] = sealed.split('.');
  const forged = Buffer.from(JSON.stringify({ ...session, login: 'mallory' })).toString('base64url');
  assert.equal(openSession(box, `${forged}.${mac}`, at), undefined, 'another login with the old signature');
  assert.equal(
    openSession(SecretBox.fromEnvironment(Buffer.alloc(32, 4).toString('base64')), sealed, at),
    undefined,
    'another key',
  );
  assert.equal(openSession(box, sealed, Date.parse('2026-11-30T10:00:01Z')), undefined, 'after twelve hours');
  assert.equal(openSession(box, `${payload}.`, at), undefined);
  assert.equal(openSession(box, 'garbage', at), undefined);
  assert.equal(openSession(box, undefined, at), undefined);
});

test('cookies are HttpOnly, SameSite=Lax, scoped to the console, Secure over https', () => {
  assert.equal(
    cookie('c', 'v w', { secure: true, maxAgeSeconds: 60 }),
    'c=v%20w; Path=/console; HttpOnly; SameSite=Lax; Secure; Max-Age=60',
  );
  assert.equal(
    cookie('c', '', { secure: false, maxAgeSeconds: 0 }),
    'c=; Path=/console; HttpOnly; SameSite=Lax; Max-Age=0',
  );
  assert.deepEqual(parseCookies('a=1; c2f_console=x.y%3D; broken'), { a: '1', c2f_console: 'x.y=' });
  // Another site's cookie on a shared domain that is not valid percent-encoding is kept as it came.
  assert.deepEqual(parseCookies('tracking=50%off; c2f_console=s'), { tracking: '50%off', c2f_console: 's' });
});

test('values are escaped in pages, whatever a host name or a log line holds', () => {
  const name = '<script>alert("x")</script> & \u0007bell';
  assert.equal(
    html`<td>${name}</td>`.text,
    '<td>&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; \\u0007bell</td>',
  );
  assert.equal(
    html`<p>${html`<b>${'a<b'}</b>`}</p>`.text,
    '<p><b>a&#60;b</b></p>',
    'a template inside a template stays markup',
  );
  assert.equal(html`${['a', 1, null, false, undefined]}`.text, 'a1');
  assert.equal(escapeHtml(`'"`), '&#39;&#34;');
  assert.equal(
    href('/console/fleet', { q: 'a b&c', page: 2, quiet: false, label: '' }),
    '/console/fleet?q=a+b%26c&page=2',
  );
});
