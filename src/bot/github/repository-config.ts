import { composeConfigGet } from '@probot/octokit-plugin-config';

// A repository's `.github/conn2flow-release.yml`, read as Probot's context.config reads it: the repository's
// own file, else the owner's `.github` repository's, with `_extends` followed. The owner's file is asked for
// at once, beside the repository's, not after GitHub has answered that the repository has none (most have
// none): one request's time less before a release is planned, one request more when the repository has one.

const CONFIG_PATH = '.github/conn2flow-release.yml';

/** A configuration that is not YAML, or not a mapping: the release fails with why. */
export class RepositoryConfigError extends Error {}

type Endpoint = { owner?: string; repo?: string; path?: string; ref?: string };
type Request = ((endpoint: Endpoint) => Promise<unknown>) & { endpoint: unknown };

export async function readRepositoryConfig(octokit: unknown, repository: string): Promise<Record<string, unknown>> {
  const [owner, repo] = repository.split('/');
  const client = octokit as { request?: Request; config?: unknown };
  if (!client.config || !client.request) return {}; // an Octokit without Probot's config plugin: no configuration
  const github = client.request;
  const isOwnersFile = (e: Endpoint) => e.owner === owner && e.repo === '.github' && e.path === CONFIG_PATH && !e.ref;
  const early =
    repo === '.github'
      ? undefined
      : github({
          method: 'GET',
          url: '/repos/{owner}/{repo}/contents/{path}',
          owner,
          repo: '.github',
          path: CONFIG_PATH,
          mediaType: { format: 'raw' },
        } as Endpoint);
  early?.catch(() => {}); // seen by the plugin if the repository has no file; dropped if it has one
  const request = Object.assign((e: Endpoint) => (early && isOwnersFile(e) ? early : github(e)), {
    endpoint: github.endpoint,
  });
  try {
    const { config, files } = await composeConfigGet({ request } as unknown as Parameters<typeof composeConfigGet>[0], {
      owner,
      repo,
      path: CONFIG_PATH,
    });
    // The plugin merges what it read into one object, so a list would arrive as {"0": …}: each file is checked.
    if (files.some((file) => file.config !== null && (typeof file.config !== 'object' || Array.isArray(file.config))))
      throw new RepositoryConfigError(`${CONFIG_PATH} of ${repository} must be a mapping`);
    return config as Record<string, unknown>;
  } catch (error) {
    if (/could not be parsed/.test((error as Error).message))
      throw new RepositoryConfigError(`${CONFIG_PATH} of ${repository} is not valid YAML`);
    throw error;
  }
}
