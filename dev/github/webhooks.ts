import { createHmac, randomUUID } from 'node:crypto';
import examples from '@octokit/webhooks-examples' with { type: 'json' };

// GitHub's webhooks as the stand-in sends them: payloads cut from @octokit/webhooks-examples (GitHub's own
// examples, with the fields a test names set), signed with the App's webhook secret (x-hub-signature-256)
// and POSTed with GitHub's headers. Everything that plays "GitHub sends a webhook" goes through here.

/** Where a webhook goes: the App's webhook URL and its secret. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

type Example = Record<string, any>;

function example(event: string, action: string): Example {
  const group = (examples as unknown as Array<{ name: string; examples: Example[] }>).find((e) => e.name === event);
  const found = group?.examples.find((e) => e.action === action) ?? group?.examples[0];
  if (!found) throw new Error(`@octokit/webhooks-examples has no ${event} example`);
  return structuredClone(found);
}

const installation = (id: number) => ({ id, node_id: `installation-${id}` });

export interface ReleaseEvent {
  repository: string;
  release: { id: number; tagName: string; prerelease?: boolean };
  action?: 'published' | 'released' | 'prereleased';
  privateRepository?: boolean;
  installationId?: number;
}

/** A `release` webhook's payload. */
export function releasePayload(event: ReleaseEvent): Example {
  const action = event.action ?? 'published';
  const payload = example('release', action);
  const [owner, name] = event.repository.split('/');
  payload.action = action;
  Object.assign(payload.release, {
    id: event.release.id,
    tag_name: event.release.tagName,
    name: event.release.tagName,
    prerelease: event.release.prerelease ?? false,
    draft: false,
  });
  Object.assign(payload.repository, { full_name: event.repository, name, private: event.privateRepository ?? false });
  payload.repository.owner.login = owner;
  payload.installation = installation(event.installationId ?? 42);
  return payload;
}

/** A `check_run.requested_action` webhook's payload: someone pressed one of a check run's buttons. */
export function checkRunActionPayload(event: {
  repository: string;
  checkRun: { id: number; externalId: string | null; headSha: string };
  identifier: string;
  sender: string;
  installationId?: number;
}): Example {
  const payload = example('check_run', 'requested_action');
  Object.assign(payload.check_run, {
    id: event.checkRun.id,
    external_id: event.checkRun.externalId,
    head_sha: event.checkRun.headSha,
  });
  payload.requested_action = { identifier: event.identifier };
  payload.repository.full_name = event.repository;
  payload.sender.login = event.sender;
  payload.installation = installation(event.installationId ?? 42);
  return payload;
}

export interface Delivered {
  status: number;
  body: string;
  /** Milliseconds until the answer was read. */
  ms: number;
}

/** A webhook's body and GitHub's headers, signed with the target's secret (or with `signature` given, to forge one). */
export function signedWebhook(
  to: WebhookTarget,
  event: string,
  payload: unknown,
  options: { signature?: string; deliveryId?: string } = {},
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/stand-in',
      'x-github-event': event,
      'x-github-delivery': options.deliveryId ?? randomUUID(),
      'x-hub-signature-256':
        options.signature ?? `sha256=${createHmac('sha256', to.secret).update(body).digest('hex')}`,
    },
  };
}

/** POSTs one webhook signed the way GitHub signs it. */
export async function sendWebhook(
  to: WebhookTarget,
  event: string,
  payload: unknown,
  options: { signature?: string; deliveryId?: string } = {},
): Promise<Delivered> {
  const { body, headers } = signedWebhook(to, event, payload, options);
  const started = performance.now();
  const response = await fetch(to.url, { method: 'POST', body, headers });
  const text = await response.text();
  return { status: response.status, body: text, ms: performance.now() - started };
}
