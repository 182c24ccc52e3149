import type { IncomingMessage, ServerResponse } from 'node:http';
import { newMessageId, signMessage } from '../../protocol/signing.ts';

export class BodyTooLargeError extends Error {}

/** Reads a request body up to a limit. */
export async function readBody(req: IncomingMessage, limit = 256 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(`body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** A JSON answer signed like a push (Standard Webhooks headers), for answers a host acts on. */
export function sendSignedJson(res: ServerResponse, status: number, body: unknown, secrets: readonly string[]): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...signMessage(text, secrets, newMessageId()) }).end(text);
}
