import type { IncomingMessage, ServerResponse } from 'node:http';
import { signMessage, verifyMessage } from '../protocol/signing.ts';
import { parseChecked, checkJob } from '../protocol/validate.ts';
import type { Ack, Job } from '../protocol/messages.ts';
import { BodyTooLargeError, readBody } from '../read-body.ts';

// The push endpoint: signature and timestamp window first (401), then the schema (422), then the agent's
// intake, which stores the job before this answers 202 (200 for a repeat, 409 for a refusal).

export interface JobIntake {
  readonly config: { secret: string; previousSecret: string | null };
  intake(job: Job, via?: 'push' | 'pull'): { status: 200 | 202 | 409 | 503; ack: Ack | { error: string } };
}

const MAX_JOB_BYTES = 256 * 1024;

export async function handleJobRequest(
  req: IncomingMessage,
  res: ServerResponse,
  agent: JobIntake,
  jobPath: string,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true });
  if (url.pathname !== jobPath) return send(res, 404, { error: `jobs are received on ${jobPath}` });
  if (req.method !== 'POST') return send(res, 405, { error: 'jobs are POSTed' });
  let body: Buffer;
  try {
    body = await readBody(req, MAX_JOB_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return send(res, 413, { error: `a job is at most ${MAX_JOB_BYTES} bytes` });
    throw error;
  }
  const secrets = [agent.config.secret, agent.config.previousSecret].filter((s): s is string => Boolean(s));
  const verified = verifyMessage(body, req.headers, secrets);
  if (!verified.ok) return send(res, 401, { error: `signature rejected: ${verified.reason}` });
  const checked = parseChecked(body.toString('utf8'), checkJob);
  if (!checked.ok) return send(res, 422, { error: 'the job does not match the job schema', details: checked.errors });
  if (verified.messageId !== checked.value.attemptId)
    return send(res, 422, {
      error: `the message id (${verified.messageId}) is not the job's attemptId (${checked.value.attemptId})`,
    });
  const { status, ack } = agent.intake(checked.value, 'push');
  // Signed like every host message: the report a repeat is answered with counts only if the bot can verify it.
  return send(res, status, ack, (text) => signMessage(text, [agent.config.secret], checked.value.attemptId));
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  sign?: (text: string) => Record<string, string>,
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...sign?.(text),
    })
    .end(text);
}
