import { createServer, type Server } from 'node:http';
import { createNodeMiddleware, type Probot } from 'probot';
import { handleReport } from './api/reports.ts';
import { sendJson } from './api/read-body.ts';
import { botApp, startWorkers, type BotDeps } from './app.ts';

// The bot's HTTP server: GitHub webhooks (verified by Probot) and the hosts' reports.

export const WEBHOOK_PATH = '/api/github/webhooks';

export async function createBotServer(probot: Probot, deps: BotDeps, options: { workers?: boolean } = {}): Promise<Server> {
  const webhooks = await createNodeMiddleware(botApp(deps), { probot, webhooksPath: WEBHOOK_PATH });
  if (options.workers !== false) await startWorkers(probot, deps);
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://bot').pathname;
    const fail = (error: unknown) => {
      probot.log.error({ err: error }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    };
    if (path === '/api/reports' && req.method === 'POST') return void handleReport(req, res, deps).catch(fail);
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    Promise.resolve(webhooks(req, res, () => sendJson(res, 404, { error: 'not found' }))).catch(fail);
  });
}
