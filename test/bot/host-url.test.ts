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
    ['https://[::ffff:127.0.0.1]/', /loopback or private/],
    ['https://[::ffff:7f00:1]/', /loopback or private/],
    ['https://[64:ff9b::a00:1]/', /loopback or private/],
    ['https://2130706433/', /loopback or private/],
    ['https://0x7f.1/', /loopback or private/],
    ['https://localhost./', /loopback or private/],
    ['not a url', /is not a URL/],
  ];
  for (const [url, message] of refused)
    assert.throws(
      () => validateHostUrl(url),
      (e: unknown) => e instanceof HostUrlError && message.test(e.message),
      url,
    );
  assert.equal(
    validateHostUrl('http://127.0.0.1:8080/hook', { allowHttp: true, allowPrivateNetwork: true }),
    'http://127.0.0.1:8080/hook',
  );
});

test('forbidden addresses cover the special ranges, public ones pass', () => {
  for (const ip of [
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.1.1',
    '100.64.0.1',
    '0.0.0.0',
    '0.1.2.3',
    '224.0.0.1',
    '255.255.255.255',
    '240.0.0.1',
    '192.0.2.1',
    '198.51.100.7',
    '203.0.113.9',
    '198.18.0.1',
    '192.0.0.8',
    '192.88.99.1',
    '::1',
    '::',
    'fd00::1',
    'fc00::1',
    'fe80::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a00:1',
    '::127.0.0.1',
    '64:ff9b::7f00:1',
    '64:ff9b:1::1',
    '2002:7f00:1::1',
    '2001::1',
    '2001:db8::1',
    '100::1',
    'fe80::1%eth0',
    'not-an-address',
  ]) {
    assert.equal(isForbiddenAddress(ip), true, ip);
  }
  for (const ip of ['8.8.8.8', '172.32.0.1', '140.82.112.3', '2606:4700::1111'])
    assert.equal(isForbiddenAddress(ip), false, ip);
});
