import { generateKeyPairSync } from 'node:crypto';
import type { Logger } from 'pino';
import { Probot } from 'probot';
import type { GitHubStandIn } from '../../dev/github/stand-in.ts';

// The App (id 1) as Probot sees it on the GitHub stand-in, with a key made once per test file.

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

export function testProbot(github: GitHubStandIn, options: { secret?: string; log?: Logger } = {}): Probot {
  return new Probot({
    appId: 1,
    privateKey,
    secret: options.secret ?? 's',
    baseUrl: github.url,
    ...(options.log ? { log: options.log } : { logLevel: 'fatal' }),
  } as ConstructorParameters<typeof Probot>[0]);
}
