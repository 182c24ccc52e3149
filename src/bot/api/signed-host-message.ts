import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyMessage } from '../../protocol/signing.ts';
import { storable } from '../../protocol/storable.ts';
import type { Checked } from '../../protocol/validate.ts';
import type { Database } from '../store/database.ts';
import { firstUse } from '../store/host-messages.ts';
import { finishRotation, hostSecrets } from '../store/hosts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { BodyTooLargeError, readBody } from '../../read-body.ts';
import { sendJson } from '../http/json-answer.ts';

// A signed message from a host. The body names the host, but nothing in it counts until the signature
// verifies with that host's secret; then the schema; then, for messages that must act once (a poll hands out
// jobs and their package links), that its id was never seen. On any failure the answer (401, 409, 413, 422)
// is sent here and undefined returned. Text the database cannot hold (NUL, lone surrogates) is replaced.

export async function readSignedHostMessage<T extends { hostId: string }>(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { db: Database; box: SecretBox },
  what: string,
  check: (value: unknown) => Checked<T>,
  options: { limit?: number; singleUse?: boolean } = {},
): Promise<{ value: T; messageId: string; secrets: string[] } | undefined> {
  const limit = options.limit ?? 256 * 1024;
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    sendJson(res, 413, { error: error.message });
    return undefined;
  }
  let claimed: unknown;
  try {
    claimed = JSON.parse(body.toString('utf8'));
  } catch {
    sendJson(res, 401, { error: `unsigned or malformed ${what}` });
    return undefined;
  }
  const hostId = (claimed as { hostId?: unknown })?.hostId;
  const secrets = typeof hostId === 'string' ? await hostSecrets(deps.db, deps.box, hostId) : [];
  const verified = verifyMessage(body, req.headers, secrets);
  if (!secrets.length || !verified.ok) {
    sendJson(res, 401, {
      error: secrets.length ? `signature rejected: ${verified.ok ? '' : verified.reason}` : 'unknown host',
    });
    return undefined;
  }
  // A host that signs with the new secret has it: the rotation is over and the old secret stops working.
  if (secrets.length > 1 && verifyMessage(body, req.headers, secrets.slice(0, 1)).ok)
    await finishRotation(deps.db, hostId as string);
  const checked = check(claimed);
  if (!checked.ok) {
    sendJson(res, 422, { error: `the ${what} does not match the ${what} schema`, details: checked.errors });
    return undefined;
  }
  if (options.singleUse && !(await firstUse(deps.db, hostId as string, verified.messageId))) {
    sendJson(res, 409, {
      error: `this ${what} (message ${verified.messageId}) was already received: a replay is not acted on`,
    });
    return undefined;
  }
  return { value: storable(checked.value), messageId: verified.messageId, secrets };
}
