import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createNodeMiddleware, type Probot } from 'probot';
import { handleAdmin, isAdminPath } from './api/admin.ts';
import { handleEnroll } from './api/enroll.ts';
import { handleHeartbeat } from './api/heartbeat.ts';
import { handlePackage, type AssetStream } from './api/packages.ts';
import { handleReport } from './api/reports.ts';
import { probotAssetStream } from './github/asset-stream.ts';
import { sendJson } from './api/read-body.ts';
import { botApp, startWorkers, touchRollout, type BotDeps } from './app.ts';
import { registry, useDatabaseForMetrics } from './metrics.ts';
import { ReleaseIntake } from './rollout/release-intake.ts';

// The bot's HTTP routes besides GitHub's webhooks: hosts' reports and enrollment, the operator's API.

export const WEBHOOK_PATH = '/api/github/webhooks';

export interface ServerDeps extends BotDeps {
  adminToken?: string;
  /** How often a long poll looks for new jobs (default 1 s). */
  pollCheckMs?: number;
  /** How long a job handed out in a poll waits for the host's first report (default 60 s). */
  pullLeaseSeconds?: number;
  /** Where private repositories' packages are read from (GitHub, with the installation's token). */
  assets?: AssetStream;
}

/** Handles our own routes; false when the request is not one of them. */
export function apiHandler(deps: ServerDeps, log: Probot['log']) {
  useDatabaseForMetrics(deps.db);
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = new URL(req.url ?? '/', 'http://bot').pathname;
    const fail = (error: unknown) => {
      log.error({ err: error }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    };
    const onChanged = (rolloutId: string) => touchRollout(deps, rolloutId);
    if (path === '/api/reports' && req.method === 'POST') return void handleReport(req, res, { ...deps, onChanged }).catch(fail), true;
    if (path === '/api/enroll' && req.method === 'POST') return void handleEnroll(req, res, deps).catch(fail), true;
    if (path === '/api/heartbeat' && req.method === 'POST') return void handleHeartbeat(req, res, { ...deps, onChanged }).catch(fail), true;
    if (path.startsWith('/api/packages/') && req.method === 'GET' && deps.assets) return void handlePackage(req, res, { ...deps, assets: deps.assets }).catch(fail), true;
    if (isAdminPath(path)) return void handleAdmin(req, res, { ...deps, adminToken: deps.adminToken, onChanged }).catch(fail), true;
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' }), true;
    if (path === '/metrics' && req.method === 'GET') {
      registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), fail);
      return true;
    }
    return false;
  };
}

/** A complete bot server (webhooks + API + workers), as tests and embedders run it. */
export async function createBotServer(probot: Probot, given: ServerDeps, options: { workers?: boolean } = {}): Promise<Server> {
  const deps: ServerDeps = { ...given, intake: given.intake ?? new ReleaseIntake(given, (error) => probot.log.error({ err: error }, 'queuing releases failed')) };
  const webhooks = await createNodeMiddleware(botApp(deps), { probot, webhooksPath: WEBHOOK_PATH });
  if (options.workers !== false) await startWorkers(probot, deps);
  const api = apiHandler({ assets: probotAssetStream(probot), ...deps }, probot.log);
  return createServer((req, res) => {
    if (api(req, res)) return;
    Promise.resolve(webhooks(req, res, () => sendJson(res, 404, { error: 'not found' }))).catch((error) => {
      probot.log.error({ err: error }, 'webhook handling failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    });
  });
}
