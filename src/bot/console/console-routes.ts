import { NotificationInputError, shownTarget } from '../notify/notification-targets.ts';
import { getTarget, listTargets, targetDeliveries } from '../store/notifications.ts';
import { isNotificationActionPath, notificationAction } from './notification-actions.ts';
import { deliveriesTable, deliveriesView, notificationsView } from './pages/notifications.ts';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PgBoss } from 'pg-boss';
import { BodyTooLargeError, readBody } from '../../read-body.ts';
import { sameText } from '../../same-text.ts';
import { ActionRefused, type OperatorDeps } from '../rollout/operator-actions.ts';
import type { Database } from '../store/database.ts';
import { allEvents, eventKinds, latestEventId, listEvents } from '../read/events.ts';
import { fleetPage } from '../read/fleet.ts';
import { readHostPage } from '../read/host-view.ts';
import { changeHost, createEnrollToken, removeHostAs } from '../rollout/fleet-actions.ts';
import { HostInputError, hostChangesInput, hostInput } from '../rollout/host-input.ts';
import { WindowError } from '../rollout/maintenance-windows.ts';
import { StrategyError } from '../rollout/strategy.ts';
import { getHost, HostNameTakenError } from '../store/hosts.ts';
import { describeSettings, hostChangesBody, newHostBody } from './host-forms.ts';
import { isListed, mayDo, roleOf, type Role } from './roles.ts';
import { enrolledView, enrollFormView, hostSettingsView } from './pages/host-settings.ts';
import { rolloutHeading } from '../domain.ts';
import { readRolloutPage } from '../read/rollout-view.ts';
import { registryPlugin, searchRegistry } from '../read/registry.ts';
import { listRollouts } from '../store/rollouts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.ts';
import { consoleAction, uninstallAction } from './console-actions.ts';
import { isReleaseActionPath, releaseAction } from './release-actions.ts';
import {
  authorizeUrl,
  exchangeCode,
  fetchUser,
  mayEnter,
  SignInError,
  teamRole,
  type SignInConfig,
} from './github-sign-in.ts';
import { html, type Html } from './html.ts';
import { page } from './layout.ts';
import { confirmView } from './pages/confirm.ts';
import { csvRow, eventsView, newestEvents } from './pages/events.ts';
import { fleetHosts, fleetView } from './pages/fleet.ts';
import { hostLiveView, hostView } from './pages/host.ts';
import { registryPluginView, registryTable, registryView, versionsTable } from './pages/registry.ts';
import { rolloutLive, rolloutsPage, rolloutsView, rolloutView, type RolloutShown } from './pages/rollouts.ts';
import { deniedView, notSetUpView, signInView } from './pages/sign-in.ts';
import type { ChangeFeed } from '../changes.ts';
import { streamChanges, streamDeliveries, streamFollowing, streamHost } from './rollout-stream.ts';
import { InputError, parseCookies, pathSegment, RequestInput } from '../http/request-input.ts';
import { streamOut } from '../http/stream-out.ts';
import {
  endAllSessions,
  endSession,
  liveSession,
  rememberState,
  startSession,
  takeState,
} from '../store/console-sessions.ts';
import {
  cookie,
  newSession,
  openSession,
  sealSession,
  SESSION_COOKIE,
  SESSION_LIFETIME_MS,
  STATE_COOKIE,
  type Session,
} from './session.ts';

// The operator console, served by the bot under /console: signed in with GitHub, every page rendered on the
// server (readable without JavaScript), every action confirmed on a page of its own, checked against the
// session's CSRF token and recorded with who did it, through the same operator functions as the admin API.

export interface ConsoleDeps {
  db: Database;
  boss: PgBoss;
  box: SecretBox;
  botUrl: string;
  /** null when the console is not set up; `missing` says what is missing. */
  signIn: SignInConfig | null;
  missing: string[];
  /** Wakes live pages when their rollout changes. */
  changes: ChangeFeed;
  /** C2F_PUBLISHER_KEYS and C2F_PROVENANCE_WORKFLOWS: what an enrollment command pins. */
  publisherKeys?: Record<string, string[]>;
  provenanceWorkflows?: Record<string, string[]>;
  /** Says what went wrong where no one else would see it (a live page's lost look at the store). */
  log?: (fields: Record<string, unknown>, message: string) => void;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** Live streams (server-sent events) each session may hold open at once. */
const MAX_STREAMS_PER_SESSION = 10;
const openStreams = new Map<string, number>();

/** Counts a live page's stream against its session until the response closes; refuses one too many. */
function holdStream(session: Session, res: ServerResponse): void {
  const open = openStreams.get(session.id) ?? 0;
  if (open >= MAX_STREAMS_PER_SESSION)
    throw new Refusal(429, `At most ${MAX_STREAMS_PER_SESSION} live pages per session: close some tabs.`);
  openStreams.set(session.id, open + 1);
  res.once('close', () => {
    const left = (openStreams.get(session.id) ?? 1) - 1;
    if (left > 0) openStreams.set(session.id, left);
    else openStreams.delete(session.id);
  });
}

class Refusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function isConsolePath(path: string): boolean {
  return path === '/console' || path.startsWith('/console/');
}

export async function handleConsole(req: IncomingMessage, res: ServerResponse, deps: ConsoleDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://bot');
  const path = url.pathname.replace(/\/+$/, '') || '/console';
  const method = req.method ?? 'GET';
  const secure = deps.botUrl.startsWith('https:');
  // Every console response carries the security headers; over https, browsers are told to stay on https.
  const headers = { ...SECURITY_HEADERS, ...(secure ? { 'strict-transport-security': 'max-age=31536000' } : {}) };
  const send = (
    status: number,
    body: string,
    type = 'text/html; charset=utf-8',
    extra: Record<string, string | string[]> = {},
  ): void => {
    res.writeHead(status, { ...headers, 'content-type': type, ...extra }).end(body);
  };
  const redirect = (location: string, extra: Record<string, string | string[]> = {}): void => {
    res.writeHead(303, { ...headers, location, ...extra }).end();
  };

  if (path === '/console/assets/console.css')
    return send(200, CONSOLE_CSS, 'text/css; charset=utf-8', { 'cache-control': 'max-age=3600' });
  if (path === '/console/assets/console.js')
    return send(200, CONSOLE_JS, 'text/javascript; charset=utf-8', { 'cache-control': 'max-age=3600' });
  if (!deps.signIn) return send(503, page('Console', notSetUpView(deps.missing)));
  const signIn = deps.signIn;

  const cookies = parseCookies(req.headers.cookie);
  if (path === '/console/sign-in' && method === 'GET') return send(200, page('Sign in', signInView()));
  if (path === '/console/sign-in/github' && method === 'GET') {
    const state = randomBytes(16).toString('base64url');
    await rememberState(deps.db, state, new Date(Date.now() + 600_000));
    return redirect(authorizeUrl(signIn, state), {
      'set-cookie': cookie(STATE_COOKIE, state, { secure, maxAgeSeconds: 600 }),
    });
  }
  if (path === '/console/oauth/callback' && method === 'GET') {
    const state = url.searchParams.get('state') ?? '';
    const code = url.searchParams.get('code') ?? '';
    // The state is taken once: a used one, with its cookie, cannot carry a second code.
    if (
      !cookies[STATE_COOKIE] ||
      !sameText(state, cookies[STATE_COOKIE]) ||
      !code ||
      !(await takeState(deps.db, state))
    )
      return send(
        400,
        page('Sign in', signInView('That sign-in did not start here, or it took too long: sign in again.')),
      );
    try {
      const token = await exchangeCode(signIn, code);
      const user = await fetchUser(signIn, token);
      const clearState = cookie(STATE_COOKIE, '', { secure, maxAgeSeconds: 0 });
      if (!(await mayEnter(signIn, token, user.login)))
        return send(403, page('Not allowed', deniedView(user.login)), undefined, { 'set-cookie': clearState });
      const session = newSession(user.login, user.name);
      const viaOrg = !isListed(signIn.roles, user.login);
      await startSession(deps.db, {
        id: session.id,
        login: session.login,
        viaOrg,
        teamRole: viaOrg ? await teamRole(signIn, token, user.login) : null,
        expiresAt: new Date(session.expires),
      });
      return redirect('/console/fleet', {
        'set-cookie': [
          clearState,
          cookie(SESSION_COOKIE, sealSession(deps.box, session), { secure, maxAgeSeconds: SESSION_LIFETIME_MS / 1000 }),
        ],
      });
    } catch (error) {
      if (error instanceof SignInError) return send(502, page('Sign in', signInView(error.message)));
      throw error;
    }
  }

  const session = await liveSessionOf(deps, signIn, cookies[SESSION_COOKIE]);
  if (!session) {
    if (method === 'GET') return redirect('/console/sign-in');
    return send(401, page('Sign in', signInView('Your session ended: sign in again.')));
  }
  try {
    if (method === 'POST') return await post(req, deps, session, path, send, redirect);
    if (method !== 'GET') throw new Refusal(405, 'The console answers GET and POST.');
    return await get(req, res, deps, session, path, send, headers);
  } catch (error) {
    if (error instanceof Refusal) return send(error.status, page('Not done', notice(error.message), { session }));
    if (error instanceof ActionRefused) return send(error.status, page('Not done', notice(error.message), { session }));
    if (
      error instanceof HostInputError ||
      error instanceof WindowError ||
      error instanceof StrategyError ||
      error instanceof NotificationInputError
    )
      return send(400, page('Not done', notice(error.message), { session }));
    if (error instanceof HostNameTakenError) return send(409, page('Not done', notice(error.message), { session }));
    if (error instanceof BodyTooLargeError)
      return send(413, page('Not done', notice('That form is too large.'), { session }));
    if (error instanceof InputError)
      return send(
        400,
        page('Not done', notice(`That address is not one the console understands: ${error.message}.`), { session }),
      );
    throw error;
  }
}

/**
 * The session a cookie names, if it still counts: its signature, its row on the server (not signed out, not
 * ended for everyone, not expired), and its login still allowed (a login taken off C2F_CONSOLE_USERS is out at
 * once; organisation members are checked when they sign in).
 */
async function liveSessionOf(
  deps: ConsoleDeps,
  signIn: SignInConfig,
  value: string | undefined,
): Promise<SignedIn | undefined> {
  const session = openSession(deps.box, value);
  if (!session) return undefined;
  const live = await liveSession(deps.db, session.id);
  if (!live || live.login !== session.login) return undefined;
  const allowed = live.viaOrg ? Boolean(signIn.allowedOrg) : isListed(signIn.roles, session.login);
  const role = roleOf(signIn.roles, session.login, live.viaOrg && Boolean(signIn.allowedOrg), live.teamRole);
  return allowed && role ? { ...session, role } : undefined;
}

/** A signed-in operator and the role the lists give them now. */
type SignedIn = Session & { role: Role };

/** Refuses what the session's role may not do, on the server, whatever the page offered. */
function need(session: SignedIn, role: Role, what: string): void {
  if (!mayDo(session.role, role))
    throw new Refusal(403, `Your role (${session.role}) may not ${what}: that takes ${role}. Ask an admin.`);
}

function doneNotice(done: string | undefined): Html {
  return done ? html`<p class="notice" role="status">${done}</p>` : html``;
}

function notice(message: string): Html {
  return html`<p class="notice error" role="alert">${message}</p>`;
}

type Send = (status: number, body: string, type?: string, extra?: Record<string, string | string[]>) => void;

async function get(
  req: IncomingMessage,
  res: ServerResponse,
  deps: ConsoleDeps,
  session: SignedIn,
  path: string,
  send: Send,
  headers: Record<string, string>,
): Promise<void> {
  const { db } = deps;
  const input = new RequestInput(req);
  const param = (name: string) => input.text(name);
  const number = (name: string) => input.integer(name, 1, 1, 1_000_000);
  if (path === '/console') return void res.writeHead(303, { ...headers, location: '/console/fleet' }).end();
  const stream = { db, changes: deps.changes, log: deps.log };
  if (path === '/console/fleet/stream') {
    holdStream(session, res);
    return streamFollowing(req, res, stream, headers, 'h', 'the fleet');
  }
  if (path === '/console/fleet' || path === '/console/fleet/live') {
    const query = {
      q: param('q'),
      label: param('label'),
      quiet: param('quiet') === 'true',
      problems: param('problems') === 'true',
      page: number('page'),
    };
    if (path === '/console/fleet/live') return send(200, fleetHosts(await fleetPage(db, query), query).text);
    const view = html`${doneNotice(param('done'))}${mayDo(session.role, 'admin') ? html`<p><a href="/console/hosts/new">Enroll a host</a></p>` : ''}${fleetView(await fleetPage(db, query), query)}`;
    return send(200, page('Fleet', view, { session, current: '/console/fleet' }));
  }
  if (path === '/console/hosts/new') {
    need(session, 'admin', 'enroll hosts');
    return send(200, page('Enroll a host', enrollFormView(session.csrf), { session, current: '/console/fleet' }));
  }
  const host = /^\/console\/hosts\/([^/]+)(\/live|\/stream)?$/.exec(path);
  if (host) {
    if (host[2] === '/stream') {
      holdStream(session, res);
      return streamHost(req, res, stream, pathSegment(host[1]), headers);
    }
    const found = await readHostPage(db, pathSegment(host[1]));
    if (!found) throw new Refusal(404, `No host ${pathSegment(host[1])}.`);
    const operatorCsrf = mayDo(session.role, 'operator') ? session.csrf : null;
    if (host[2] === '/live') return send(200, hostView(found.host, found.jobs, operatorCsrf).text);
    return send(
      200,
      page(
        `Host ${found.host.name}`,
        html`${doneNotice(param('done'))}${hostLiveView(found.host, found.jobs, operatorCsrf)}${mayDo(session.role, 'admin') ? hostSettingsView(found.host, session.csrf) : ''}`,
        {
          session,
          current: '/console/fleet',
        },
      ),
    );
  }
  if (path === '/console/rollouts')
    return send(
      200,
      page('Rollouts', rolloutsPage(await listRollouts(db, 200)), { session, current: '/console/rollouts' }),
    );
  if (path === '/console/rollouts/live') return send(200, rolloutsView(await listRollouts(db, 200)).text);
  if (path === '/console/rollouts/stream') {
    holdStream(session, res);
    return streamFollowing(req, res, stream, headers, 'r', 'the rollouts');
  }
  const rollout = /^\/console\/rollouts\/([^/]+)(\/live|\/stream)?$/.exec(path);
  if (rollout) {
    const id = pathSegment(rollout[1]);
    if (rollout[2] === '/stream') {
      holdStream(session, res);
      return streamChanges(req, res, stream, id, headers);
    }
    const shown = await rolloutShown(deps, id, session, param('state'), number('page'));
    if (rollout[2] === '/live') return send(200, rolloutLive(shown).text);
    const done = param('done');
    const related = param('related');
    return send(
      200,
      page(rolloutHeading(shown.rollout), rolloutView(shown, done, related), {
        session,
        current: '/console/rollouts',
      }),
    );
  }
  if (path === '/console/notifications') {
    need(session, 'admin', 'manage notifications');
    const view = html`${doneNotice(param('done'))}${notificationsView((await listTargets(db)).map(shownTarget), session.csrf)}`;
    return send(200, page('Notifications', view, { session, current: '/console/notifications' }));
  }
  const endpoint = /^\/console\/notifications\/([^/]+)(\/live|\/stream)?$/.exec(path);
  if (endpoint) {
    need(session, 'admin', 'manage notifications');
    const target = await getTarget(db, pathSegment(endpoint[1]));
    if (!target) throw new Refusal(404, `No endpoint ${pathSegment(endpoint[1])}.`);
    if (endpoint[2] === '/stream') {
      holdStream(session, res);
      return streamDeliveries(req, res, stream, target.id, headers);
    }
    if (endpoint[2] === '/live') return send(200, deliveriesTable(await targetDeliveries(db, target.id)).text);
    const view = deliveriesView(shownTarget(target), await targetDeliveries(db, target.id));
    return send(200, page(`Endpoint ${target.id}`, view, { session, current: '/console/notifications' }));
  }
  if (path === '/console/registry/stream') {
    holdStream(session, res);
    return streamFollowing(req, res, stream, headers, ['r', 'h'], 'the registry');
  }
  if (path === '/console/registry/live')
    return send(200, registryTable(await searchRegistry(db, param('q')), param('q')).text);
  if (path === '/console/events/stream') {
    holdStream(session, res);
    return streamFollowing(req, res, stream, headers, ['r', 'h', 'f', 'n'], 'the events', () => latestEventId(db));
  }
  if (path === '/console/registry')
    return send(
      200,
      page('Registry', registryView(await searchRegistry(db, param('q')), param('q')), {
        session,
        current: '/console/registry',
      }),
    );
  if (path === '/console/registry.json')
    return send(200, JSON.stringify(await searchRegistry(db, param('q')), null, 2), 'application/json; charset=utf-8');
  const plugin = /^\/console\/registry\/([^/]+\/[^/]+)\/([^/]+?)(\.json|\/live)?$/.exec(path);
  if (plugin) {
    const [repository, pluginId] = [pathSegment(plugin[1]), pathSegment(plugin[2])];
    const versions = await registryPlugin(db, repository, pluginId);
    if (!versions.length) throw new Refusal(404, `The bot knows no release of ${pluginId} in ${repository}.`);
    const adminCsrf = mayDo(session.role, 'admin') ? session.csrf : null;
    if (plugin[3] === '/live')
      return send(200, versionsTable(repository, pluginId, versions, deps.signIn!.github.web, adminCsrf).text);
    if (plugin[3])
      return send(200, JSON.stringify({ repository, pluginId, versions }, null, 2), 'application/json; charset=utf-8');
    return send(
      200,
      page(
        `${pluginId}`,
        html`${doneNotice(param('done'))}${registryPluginView(repository, pluginId, versions, deps.signIn!.github.web, mayDo(session.role, 'admin') ? session.csrf : null)}`,
        {
          session,
          current: '/console/registry',
        },
      ),
    );
  }
  const events = /^\/console\/events(\.csv|\.jsonl|\/live)?$/.exec(path);
  if (events) {
    const filter = {
      kind: param('kind'),
      hostId: param('host'),
      pluginId: param('plugin'),
      rolloutId: param('rollout'),
      actor: param('actor'),
      after: input.integer('after', undefined, 0),
    };
    const download = (type: string, name: string) => ({
      ...headers,
      'content-type': type,
      'content-disposition': `attachment; filename="${name}"`,
    });
    if (events[1] === '.jsonl')
      return streamOut(
        res,
        download('application/x-ndjson; charset=utf-8', 'events.jsonl'),
        allEvents(db, filter),
        (e) => `${JSON.stringify(e)}\n`,
      );
    if (events[1] === '.csv')
      return streamOut(
        res,
        download('text/csv; charset=utf-8', 'events.csv'),
        allEvents(db, filter),
        (e) =>
          csvRow([
            e.id,
            e.at,
            e.kind,
            e.repository,
            e.pluginId,
            e.hostId,
            e.jobId,
            JSON.stringify(e.detail ?? {}),
            e.hostName,
            e.actor,
          ]),
        csvRow(['id', 'at', 'kind', 'repository', 'plugin', 'host', 'job', 'detail', 'host_name', 'actor']),
      );
    const newest = {
      ...filter,
      after: undefined,
      before: input.integer('before', undefined, 1),
      newestFirst: true,
      limit: 100,
    };
    const shown = await listEvents(db, newest);
    if (events[1] === '/live') return send(200, newestEvents(shown, { ...newest, before: undefined }).text);
    return send(
      200,
      page('Events', eventsView(shown, newest, await eventKinds(db)), {
        session,
        current: '/console/events',
      }),
    );
  }
  throw new Refusal(404, 'No such page.');
}

async function rolloutShown(
  deps: ConsoleDeps,
  id: string,
  session: SignedIn,
  stateFilter: string | undefined,
  pageNumber: number,
): Promise<RolloutShown> {
  const shown = await readRolloutPage(deps.db, id, { state: stateFilter || undefined, page: pageNumber, perPage: 100 });
  if (!shown) throw new Refusal(404, `No rollout ${id}.`);
  return { ...shown, csrf: mayDo(session.role, 'operator') ? session.csrf : null };
}

async function post(
  req: IncomingMessage,
  deps: ConsoleDeps,
  session: SignedIn,
  path: string,
  send: Send,
  redirect: (location: string, extra?: Record<string, string | string[]>) => void,
): Promise<void> {
  const form = new URLSearchParams((await readBody(req, 16 * 1024)).toString('utf8'));
  if (!sameText(form.get('csrf') ?? '', session.csrf))
    throw new Refusal(
      403,
      'This form is not from your session (its CSRF token does not match): reload the page and try again.',
    );
  const signedOut = () =>
    redirect('/console/sign-in', {
      'set-cookie': cookie(SESSION_COOKIE, '', { secure: deps.botUrl.startsWith('https:'), maxAgeSeconds: 0 }),
    });
  if (path === '/console/sign-out') {
    await endSession(deps.db, session.id);
    return signedOut();
  }
  if (path === '/console/sign-out-everyone') {
    need(session, 'admin', 'sign everyone out');
    if (form.get('confirm') !== 'yes')
      return send(
        200,
        page(
          'Confirm',
          confirmView(
            'Sign out everyone, you included? Every console session ends now; each person signs in again.',
            path,
            { csrf: session.csrf },
            '/console/fleet',
            true,
          ),
          { session },
        ),
      );
    await endAllSessions(deps.db);
    return signedOut();
  }
  const operator: OperatorDeps = { db: deps.db, boss: deps.boss };
  const by = `${session.login} (console)`;
  const fields = Object.fromEntries([...form.entries()].filter(([name]) => name !== 'confirm'));
  if (/^\/console\/hosts\/(new|[^/]+\/(edit|remove))$/.test(path)) need(session, 'admin', 'manage hosts');
  else if (isReleaseActionPath(path)) need(session, 'admin', 'yank or un-yank releases');
  else if (isNotificationActionPath(path)) need(session, 'admin', 'manage notifications');
  else need(session, 'operator', 'act on rollouts and hosts');
  const told = await notificationAction(deps, path, form, fields, by);
  if (told) {
    if (told.kind === 'redirect') return redirect(told.location);
    const title = told.kind === 'confirm' ? 'Confirm' : 'Endpoint added';
    return send(200, page(title, told.view, { session, current: '/console/notifications' }));
  }
  const release = await releaseAction(operator, path, form, session.csrf, by);
  if (release) {
    if (release.kind === 'redirect') return redirect(release.location);
    return send(200, page('Confirm', release.view, { session, current: '/console/registry' }));
  }
  const rollout = /^\/console\/rollouts\/([^/]+)\/act$/.exec(path);
  if (rollout) {
    const id = pathSegment(rollout[1]);
    const action = form.get('action') ?? '';
    const planned = await consoleAction(
      operator,
      id,
      action,
      form.get('job') ?? undefined,
      by,
      form.get('confirm') === 'yes',
      form.get('at'),
    );
    if (planned.kind === 'confirm') {
      return send(
        200,
        page(
          'Confirm',
          confirmView(planned.question, path, fields, `/console/rollouts/${encodeURIComponent(id)}`, planned.danger),
          { session, current: '/console/rollouts' },
        ),
      );
    }
    const related = planned.related ? `&related=${encodeURIComponent(planned.related)}` : '';
    return redirect(
      `/console/rollouts/${encodeURIComponent(planned.rolloutId)}?done=${encodeURIComponent(planned.done)}${related}`,
    );
  }
  const hostAction = await fleetAction(deps, path, form, fields, by);
  if (hostAction) {
    if (hostAction.kind === 'confirm')
      return send(200, page('Confirm', hostAction.view, { session, current: '/console/fleet' }));
    if (hostAction.kind === 'page')
      return send(200, page(hostAction.title, hostAction.view, { session, current: '/console/fleet' }));
    return redirect(hostAction.location);
  }
  const uninstall = /^\/console\/hosts\/([^/]+)\/uninstall$/.exec(path);
  if (uninstall) {
    const hostId = pathSegment(uninstall[1]);
    const planned = await uninstallAction(
      operator,
      hostId,
      form.get('plugin') ?? '',
      by,
      form.get('confirm') === 'yes',
    );
    if (planned.kind === 'confirm') {
      return send(
        200,
        page(
          'Confirm',
          confirmView(planned.question, path, fields, `/console/hosts/${encodeURIComponent(hostId)}`, true),
          { session, current: '/console/fleet' },
        ),
      );
    }
    return redirect(
      `/console/rollouts/${encodeURIComponent(planned.rolloutId)}?done=${encodeURIComponent(planned.done)}`,
    );
  }
  throw new Refusal(404, 'No such action.');
}

type FleetOutcome =
  | { kind: 'confirm'; view: Html }
  | { kind: 'page'; title: string; view: Html }
  | { kind: 'redirect'; location: string };

/** Enroll a host, change its settings, remove it: confirmed first, then done as `by`. Undefined: not one of them. */
async function fleetAction(
  deps: ConsoleDeps,
  path: string,
  form: URLSearchParams,
  fields: Record<string, string>,
  by: string,
): Promise<FleetOutcome | undefined> {
  const confirmed = form.get('confirm') === 'yes';
  const confirm = (question: string, back: string, danger: boolean): FleetOutcome => ({
    kind: 'confirm',
    view: confirmView(question, path, fields, back, danger),
  });
  if (path === '/console/hosts/new') {
    const body = newHostBody(form);
    const host = hostInput(body, false);
    if (!confirmed)
      return confirm(
        `Create an enrollment token for a host named ${host.name}, following ${host.plugins.map((p) => `${p.repository}:${p.pluginId}`).join(', ') || 'no plugin'}; ${describeSettings(body)}?`,
        '/console/hosts/new',
        false,
      );
    const created = await createEnrollToken(deps, host, by);
    return { kind: 'page', title: `Enroll ${created.host.name}`, view: enrolledView(created) };
  }
  const match = /^\/console\/hosts\/([^/]+)\/(edit|remove)$/.exec(path);
  if (!match) return undefined;
  const id = pathSegment(match[1]);
  const found = await getHost(deps.db, id);
  if (!found) throw new Refusal(404, `No host ${id}.`);
  const back = `/console/hosts/${encodeURIComponent(id)}`;
  if (match[2] === 'edit') {
    const body = hostChangesBody(form);
    const changes = hostChangesInput(body);
    if (!confirmed) return confirm(`Change ${found.name}'s settings to: ${describeSettings(body)}?`, back, false);
    await changeHost(deps.db, id, changes, by);
    return { kind: 'redirect', location: `${back}?done=${encodeURIComponent('Settings saved.')}` };
  }
  if (!confirmed)
    return confirm(
      `Remove ${found.name} from the fleet? The bot sends it nothing more and forgets its secret; its site keeps what it has. To take it back, enroll it again.`,
      back,
      true,
    );
  await removeHostAs(deps.db, id, by);
  return { kind: 'redirect', location: `/console/fleet?done=${encodeURIComponent(`Removed ${found.name}.`)}` };
}
