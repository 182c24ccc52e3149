import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import path from 'node:path';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { request } from 'undici';
import { isForbiddenAddress } from '../protocol/public-address.ts';
import { isDiskFull } from './disk-full.ts';
import { PLG_EXIT } from '../protocol/exit-codes.ts';

// Fetches a package to a file: a timeout over the whole transfer, a size limit enforced while reading (a
// server that sends more than it announced is cut off), its digest computed on the way, the file renamed
// into place only when complete. Redirects are followed (GitHub serves assets from a CDN), at most five, and
// never from a public server into a loopback or private address.

export type Download =
  | { ok: true; file: string; digest: Buffer; bytes: number; ms: number }
  | { ok: false; exitCode: number; reason: string };

export interface DownloadRequest {
  url: string;
  file: string;
  expectedSize: number;
  maxBytes: number;
  timeoutMs: number;
  allowHttp: boolean;
  /** Follow a redirect from a public server to a loopback or private address (closed networks, tests). */
  allowPrivateRedirects?: boolean;
  /** The digest computed on the way: SHA-256 (what jobs name), or BLAKE2b-512 (what a publisher signs). */
  digest: 'sha256' | 'blake2b512';
}

/** Why a redirect from the package's first URL to `to` is refused; undefined when it may be followed. */
export async function redirectRefusal(from: URL, to: URL, allowPrivate: boolean): Promise<string | undefined> {
  if (allowPrivate || (await isPrivate(from.hostname)) || !(await isPrivate(to.hostname))) return undefined;
  return `the package URL redirected to ${to.host}, which is not a public address: refused (allowPrivateRedirects permits it)`;
}

/** Whether a host name is (or resolves to) an address outside the public ranges. */
async function isPrivate(hostname: string): Promise<boolean> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return isForbiddenAddress(host);
  const addresses = await lookup(host, { all: true }).catch(() => []);
  return addresses.some((a) => isForbiddenAddress(a.address));
}

const MAX_REDIRECTS = 5;

export async function downloadPackage(req: DownloadRequest): Promise<Download> {
  const started = Date.now();
  const partial = `${req.file}.partial`;
  const failed = (reason: string): Download => ({ ok: false, exitCode: PLG_EXIT.DOWNLOAD, reason });
  if (req.expectedSize > req.maxBytes)
    return failed(`the package is ${req.expectedSize} bytes, over this host's limit of ${req.maxBytes}`);
  const signal = AbortSignal.timeout(req.timeoutMs);
  let url = req.url;
  try {
    for (let hop = 0; ; hop++) {
      const parsed = new URL(url);
      if (parsed.protocol !== 'https:' && !(req.allowHttp && parsed.protocol === 'http:'))
        return failed(`refusing to download over ${parsed.protocol} (${parsed.host}); allowHttpDownloads permits http`);
      const response = await request(url, {
        method: 'GET',
        headers: { accept: 'application/octet-stream', 'user-agent': 'c2f-plugin-agent' },
        signal,
      });
      if ([301, 302, 303, 307, 308].includes(response.statusCode) && response.headers.location && hop < MAX_REDIRECTS) {
        response.body.resume();
        const next = new URL(String(response.headers.location), url);
        // A redirect may not lead from the package's server into this host's own network (a metadata service,
        // an admin port), unless the package's server is there itself or the config allows it.
        const refusal = await redirectRefusal(new URL(req.url), next, req.allowPrivateRedirects ?? false);
        if (refusal) return failed(refusal);
        url = next.toString();
        continue;
      }
      if (response.statusCode !== 200) {
        response.body.resume();
        return failed(
          `${parsed.host} answered ${response.statusCode} for the package${response.statusCode === 403 || response.statusCode === 410 ? ' (the download link may have expired: redeliver the job)' : ''}`,
        );
      }
      const declared = Number(response.headers['content-length'] ?? NaN);
      if (declared > req.maxBytes) {
        response.body.destroy();
        return failed(`the server announces ${declared} bytes, over the limit of ${req.maxBytes}`);
      }
      const hash = createHash(req.digest);
      let bytes = 0;
      const limit = Math.min(req.maxBytes, req.expectedSize);
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          if (bytes > limit)
            return callback(new Error(`the server sent more than the ${limit} bytes the job announced`));
          hash.update(chunk);
          callback(null, chunk);
        },
      });
      await pipeline(response.body, meter, createWriteStream(partial, { mode: 0o600, highWaterMark: 1024 * 1024 }));
      await rename(partial, req.file);
      return { ok: true, file: req.file, digest: hash.digest(), bytes, ms: Date.now() - started };
    }
  } catch (error) {
    await rm(partial, { force: true });
    if (signal.aborted) return failed(`the download did not finish within ${Math.round(req.timeoutMs / 1000)} s`);
    if (isDiskFull(error))
      return failed(
        `no space left on the device of ${path.dirname(req.file)} while downloading (${(error as NodeJS.ErrnoException).code}): free some space, then retry the job`,
      );
    const cause = (error as { cause?: { code?: string } }).cause;
    return failed(`download failed: ${cause?.code ?? (error as Error).message}`);
  }
}
