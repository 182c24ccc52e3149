// The operations the stand-in serves, cut out of GitHub's official OpenAPI description (@octokit/openapi,
// dereferenced) into openapi-subset.json. A test recomputes the cut from the package and compares, so the
// stand-in's contract cannot drift from the real API; `node dev/github/openapi-subset.ts` rewrites it.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SUBSET_FILE = path.join(HERE, 'openapi-subset.json');
export const OPENAPI_FILE = path.join(
  HERE,
  '..',
  '..',
  'node_modules',
  '@octokit',
  'openapi',
  'generated',
  'api.github.com.deref.json',
);

export const OPERATIONS: Array<[method: string, path: string]> = [
  ['get', '/repos/{owner}/{repo}/releases/tags/{tag}'],
  ['get', '/repos/{owner}/{repo}/releases'],
  ['post', '/repos/{owner}/{repo}/releases'],
  ['patch', '/repos/{owner}/{repo}/releases/{release_id}'],
  ['get', '/repos/{owner}/{repo}/releases/{release_id}/assets'],
  ['post', '/repos/{owner}/{repo}/releases/{release_id}/assets'],
  ['delete', '/repos/{owner}/{repo}/releases/assets/{asset_id}'],
  ['get', '/repos/{owner}/{repo}/releases/assets/{asset_id}'],
  ['get', '/repos/{owner}/{repo}/releases/{release_id}'],
  ['post', '/app/installations/{installation_id}/access_tokens'],
  ['get', '/repos/{owner}/{repo}/contents/{path}'],
  ['get', '/repos/{owner}/{repo}/git/ref/{ref}'],
  ['post', '/repos/{owner}/{repo}/check-runs'],
  ['patch', '/repos/{owner}/{repo}/check-runs/{check_run_id}'],
  ['get', '/app/hook/deliveries'],
  ['post', '/app/hook/deliveries/{delivery_id}/attempts'],
  ['post', '/app-manifests/{code}/conversions'],
  ['get', '/app'],
  ['get', '/app/hook/config'],
  ['get', '/user'],
  ['get', '/user/memberships/orgs/{org}'],
  ['get', '/orgs/{org}/teams/{team_slug}/memberships/{username}'],
  ['post', '/repos/{owner}/{repo}/attestations'],
];

export interface OperationContract {
  requestBody?: unknown;
  /** Response schema per status (null: no JSON body). */
  responses: Record<string, unknown>;
}

export type Subset = Record<string, OperationContract>;

export function extractSubset(spec: { paths: Record<string, Record<string, any>> }): Subset {
  const subset: Subset = {};
  for (const [method, route] of OPERATIONS) {
    const operation = spec.paths[route]?.[method];
    if (!operation) throw new Error(`${method.toUpperCase()} ${route} is not in GitHub's OpenAPI description`);
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries<any>(operation.responses)) {
      responses[status] = response.content?.['application/json']?.schema ?? null;
    }
    subset[`${method.toUpperCase()} ${route}`] = {
      requestBody: operation.requestBody?.content?.['application/json']?.schema,
      responses,
    };
  }
  return subset;
}

export async function subsetFromPackage(): Promise<Subset> {
  return extractSubset(JSON.parse(await readFile(OPENAPI_FILE, 'utf8')));
}

if (import.meta.main) {
  await writeFile(SUBSET_FILE, `${JSON.stringify(await subsetFromPackage(), null, 1)}\n`);
}
