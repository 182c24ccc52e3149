import type { CheckRunView } from './rollout-summary.ts';

// The check-run calls the bot makes, over an installation's Octokit.

interface OctokitLike {
  request(route: string, parameters: Record<string, unknown>): Promise<{ data: unknown }>;
}

export interface CheckRunApi {
  /** The commit a tag points at (annotated tags followed to their commit). */
  tagCommit(repository: string, tag: string): Promise<string>;
  create(repository: string, name: string, headSha: string, externalId: string, view: CheckRunView): Promise<number>;
  update(repository: string, id: number, view: CheckRunView): Promise<void>;
}

export function octokitCheckRunApi(octokit: OctokitLike): CheckRunApi {
  const split = (repository: string) => {
    const [owner, repo] = repository.split('/');
    return { owner, repo };
  };
  const fields = (view: CheckRunView) => ({
    status: view.status,
    ...(view.conclusion ? { conclusion: view.conclusion } : {}),
    output: { title: view.title, summary: view.summary, ...(view.text ? { text: view.text } : {}) },
    actions: view.actions,
  });
  return {
    async tagCommit(repository, tag) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
        ...split(repository),
        ref: `tags/${tag}`,
      });
      let object = (data as { object: { type: string; sha: string } }).object;
      for (let depth = 0; object.type === 'tag' && depth < 5; depth++) {
        const { data: tagObject } = await octokit.request('GET /repos/{owner}/{repo}/git/tags/{tag_sha}', {
          ...split(repository),
          tag_sha: object.sha,
        });
        object = (tagObject as { object: { type: string; sha: string } }).object;
      }
      return object.sha;
    },
    async create(repository, name, headSha, externalId, view) {
      const { data } = await octokit.request('POST /repos/{owner}/{repo}/check-runs', {
        ...split(repository),
        name,
        head_sha: headSha,
        external_id: externalId,
        ...fields(view),
      });
      return (data as { id: number }).id;
    },
    async update(repository, id, view) {
      await octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        ...split(repository),
        check_run_id: id,
        ...fields(view),
      });
    },
  };
}
