import { storable } from '../../protocol/storable.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkEnrollment } from '../../protocol/validate.ts';
import { HostUrlError, validateHostUrl } from '../host-url.ts';
import type { Database } from '../store/database.ts';
import { EnrollmentError, enroll, enrollmentPolicy } from '../store/hosts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { BodyTooLargeError, readBody } from '../../read-body.ts';
import { sendJson } from '../http/json-answer.ts';

// POST /api/enroll: an agent trades its one-time token for its host id and secret. Not signed (the host
// has no secret yet): the token is the credential, and it works once.

const ENROLLMENT_FLAGS = {
  http: 'when the operator creates the enrollment token with "c2f-plugin hosts enroll-token --allow-private-network"',
  privateNetwork: 'by creating the enrollment token with "c2f-plugin hosts enroll-token --allow-private-network"',
};

export async function handleEnroll(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { db: Database; box: SecretBox; botUrl: string },
): Promise<void> {
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readBody(req, 16 * 1024)).toString('utf8'));
  } catch (error) {
    return sendJson(res, error instanceof BodyTooLargeError ? 413 : 422, {
      error: 'the body must be a JSON enrollment request',
    });
  }
  const checked = checkEnrollment(parsed);
  if (!checked.ok)
    return sendJson(res, 422, { error: 'the enrollment request does not match its schema', details: checked.errors });
  const request = storable(checked.value);
  const allowPrivate = (await enrollmentPolicy(deps.db, request.token))?.allowPrivateNetwork ?? false;
  try {
    const url =
      request.url === null
        ? null
        : validateHostUrl(request.url, {
            allowHttp: allowPrivate,
            allowPrivateNetwork: allowPrivate,
            howToAllow: ENROLLMENT_FLAGS,
          });
    const { hostId, secret } = await enroll(deps.db, deps.box, request.token, url, request.agentVersion);
    return sendJson(res, 200, { hostId, secret, botUrl: deps.botUrl, pollMode: url === null });
  } catch (error) {
    if (error instanceof EnrollmentError) return sendJson(res, 403, { error: error.message });
    if (error instanceof HostUrlError) return sendJson(res, 422, { error: error.message });
    throw error;
  }
}
