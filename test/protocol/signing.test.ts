import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { generateSecret, newMessageId, signMessage, verifyMessage } from '../../src/protocol/signing.ts';

const body = JSON.stringify({ type: 'job', jobId: 'j1' });

test('signatures follow the Standard Webhooks spec: base64 HMAC-SHA256 of "id.timestamp.body"', () => {
  const secret = generateSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const now = new Date('2026-11-22T10:00:00.750Z');
  const headers = signMessage(body, [secret], 'msg_1', now);
  assert.equal(headers['webhook-timestamp'], String(Math.floor(now.getTime() / 1000)));
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`msg_1.${headers['webhook-timestamp']}.${body}`).digest('base64');
  assert.equal(headers['webhook-signature'], `v1,${expected}`);
});

test('a valid message verifies; tampering, another secret and missing headers do not', () => {
  const secret = generateSecret();
  const headers = signMessage(body, [secret], newMessageId());
  assert.deepEqual(verifyMessage(body, headers, [secret]).ok, true);
  assert.equal(verifyMessage(body.replace('j1', 'j2'), headers, [secret]).ok, false);
  assert.equal(verifyMessage(body, headers, [generateSecret()]).ok, false);
  const { 'webhook-signature': _, ...unsigned } = headers;
  const missing = verifyMessage(body, unsigned, [secret]);
  assert.deepEqual(missing, { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' });
});

test('a timestamp more than five minutes away is rejected, either way', () => {
  const secret = generateSecret();
  const now = Date.now();
  assert.equal(verifyMessage(body, signMessage(body, [secret], 'm', new Date(now - 6 * 60_000)), [secret]).ok, false);
  assert.equal(verifyMessage(body, signMessage(body, [secret], 'm', new Date(now + 6 * 60_000)), [secret]).ok, false);
  assert.equal(verifyMessage(body, signMessage(body, [secret], 'm', new Date(now - 4 * 60_000)), [secret]).ok, true);
});

test('rotation: a message signed with old and new secrets verifies with either; a receiver may hold two', () => {
  const [old, fresh] = [generateSecret(), generateSecret()];
  const headers = signMessage(body, [old, fresh], 'm');
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  assert.equal(verifyMessage(body, headers, [old]).ok, true);
  assert.equal(verifyMessage(body, headers, [fresh]).ok, true);
  assert.equal(verifyMessage(body, signMessage(body, [fresh], 'm'), [old, fresh]).ok, true);
  assert.equal(verifyMessage(body, signMessage(body, [generateSecret()], 'm'), [old, fresh]).ok, false);
});

test('the reference Standard Webhooks library and this signer agree both ways (text with non-ASCII, Buffer bodies, rotation)', () => {
  const secret = generateSecret();
  const reference = new Webhook(secret);
  const text = JSON.stringify({ type: 'job', name: 'Pré-visualização ✓' });
  const ours = signMessage(text, [generateSecret(), secret], 'msg_x');
  assert.deepEqual(reference.verify(Buffer.from(text), ours), JSON.parse(text));
  const theirs = {
    'webhook-id': 'msg_y',
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': '',
  };
  theirs['webhook-signature'] = reference.sign('msg_y', new Date(Number(theirs['webhook-timestamp']) * 1000), text);
  assert.deepEqual(verifyMessage(Buffer.from(text), theirs, [secret]), {
    ok: true,
    messageId: 'msg_y',
    timestamp: Number(theirs['webhook-timestamp']),
  });
  assert.equal(verifyMessage(text, theirs, [generateSecret()]).ok, false);
  assert.throws(() => reference.verify(text.replace('✓', 'x'), ours), WebhookVerificationError);
});
