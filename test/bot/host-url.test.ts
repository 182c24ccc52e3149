import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostUrlError, isForbiddenAddress, validateHostUrl } from '../../src/bot/host-url.ts';

test('host URLs: https, no credentials, no private addresses unless allowed', () => {
  assert.equal(validateHostUrl('https://site.example.com/c2f-agent'), 'https://site.example.com/c2f-agent');
  const refused: Array<[string, RegExp]> = [
    ['http://site.example.com/', /use https/],
    ['https://user:pw@site.example.com/', /credentials/],
    ['https://127.0.0.1:8443/', /loopback or private/],
    ['https://localhost/', /loopback or private/],
    ['https://[::1]/', /loopback or private/],
    ['https://10.1.2.3/', /loopback or private/],
    ['https://192.168.0.10/', /loopback or private/],
    ['https://169.254.169.254/latest/meta-data', /loopback or private/],
    ['not a url', /is not a URL/],
  ];
  for (const [url, message] of refused) assert.throws(() => validateHostUrl(url), (e: unknown) => e instanceof HostUrlError && message.test(e.message), url);
  assert.equal(validateHostUrl('http://127.0.0.1:8080/hook', { allowHttp: true, allowPrivateNetwork: true }), 'http://127.0.0.1:8080/hook');
});

test('forbidden addresses cover the special ranges, public ones pass', () => {
  for (const ip of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.1.1', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1']) {
    assert.equal(isForbiddenAddress(ip), true, ip);
  }
  for (const ip of ['8.8.8.8', '172.32.0.1', '140.82.112.3', '2606:4700::1111']) assert.equal(isForbiddenAddress(ip), false, ip);
});
