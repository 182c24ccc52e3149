import { sameText } from '../../same-text.ts';
import type { SecretBox } from '../store/secret-box.ts';

// Links to packages the bot serves for private repositories: `/api/packages/<job id>?expires=&signature=`,
// signed with a key derived from C2F_SECRET_KEY. A link names one job and stops working when it expires.

export const PACKAGE_LINK_TTL_SECONDS = 24 * 60 * 60;
const PURPOSE = 'package links';

export function packageLink(
  box: SecretBox,
  botUrl: string,
  jobId: string,
  now = new Date(),
): { url: string; expiresAt: string } {
  const expires = Math.floor(now.getTime() / 1000) + PACKAGE_LINK_TTL_SECONDS;
  const url = new URL(`/api/packages/${encodeURIComponent(jobId)}`, botUrl);
  url.searchParams.set('expires', String(expires));
  url.searchParams.set('signature', box.mac(PURPOSE, `${jobId}.${expires}`));
  return { url: url.toString(), expiresAt: new Date(expires * 1000).toISOString() };
}

export type LinkCheck = { ok: true } | { ok: false; status: 403 | 410; reason: string };

export function checkPackageLink(
  box: SecretBox,
  jobId: string,
  expires: string | null,
  signature: string | null,
  now = new Date(),
): LinkCheck {
  if (!expires || !signature || !/^\d+$/.test(expires))
    return { ok: false, status: 403, reason: 'the package link is incomplete' };
  if (!sameText(signature, box.mac(PURPOSE, `${jobId}.${expires}`)))
    return { ok: false, status: 403, reason: 'the package link is not valid for this job' };
  if (Number(expires) * 1000 < now.getTime())
    return {
      ok: false,
      status: 410,
      reason: 'the package link has expired: the job must be redelivered for a fresh one',
    };
  return { ok: true };
}
