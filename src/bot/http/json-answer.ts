// JSON answers of the bot's HTTP surfaces; the ones a host acts on are signed.
import type { ServerResponse } from 'node:http';
import { newMessageId, signMessage } from '../../protocol/signing.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

/** A JSON answer signed like a push (Standard Webhooks headers), for answers a host acts on. */
export function sendSignedJson(res: ServerResponse, status: number, body: unknown, secrets: readonly string[]): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...signMessage(text, secrets, newMessageId()),
    })
    .end(text);
}
