import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redirectRefusal } from '../../src/agent/download.ts';

// A package download may be redirected (GitHub hands assets to its CDN), but never from a public server into
// this host's own network: loopback, private ranges, link-local metadata services.

test('a redirect from a public server to a loopback, private or link-local address is refused; the same network or the setting allows it', async () => {
  const publicServer = new URL('https://93.184.216.34/pkg.zip');
  for (const target of [
    'http://127.0.0.1:8080/admin',
    'http://10.0.0.5/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://localhost/',
  ])
    assert.match(
      (await redirectRefusal(publicServer, new URL(target), false)) ?? '',
      /is not a public address: refused \(allowPrivateRedirects permits it\)$/,
      target,
    );
  assert.equal(
    await redirectRefusal(publicServer, new URL('https://185.199.108.133/asset'), false),
    undefined,
    'a public CDN is fine',
  );
  assert.equal(
    await redirectRefusal(new URL('http://127.0.0.1:9000/pkg'), new URL('http://127.0.0.1:9001/pkg'), false),
    undefined,
    'a server on a private network may send there',
  );
  assert.equal(
    await redirectRefusal(publicServer, new URL('http://10.0.0.5/'), true),
    undefined,
    'allowPrivateRedirects',
  );
});
