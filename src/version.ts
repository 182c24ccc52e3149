import { readFileSync } from 'node:fs';

// This package's version: written into the bundles at build time (esbuild `define`), read from package.json
// when running from source.
declare const C2F_PACKAGE_VERSION: string | undefined;

export const VERSION: string =
  typeof C2F_PACKAGE_VERSION === 'string'
    ? C2F_PACKAGE_VERSION
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
