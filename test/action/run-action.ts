import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import examples from '@octokit/webhooks-examples' with { type: 'json' };
import { FIXTURES, REPO, run, tempDir } from '../helpers.ts';

// Runs the real dist/action.js the way a runner does: a child process with INPUT_* and GITHUB_* variables,
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and an event payload file.

export const REPOSITORY = 'conn2flow/plugins';

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

type Event =
  | { name: 'push'; tag: string }
  | { name: 'release'; tag: string; action?: 'published' | 'released' | 'prereleased' }
  | { name: 'workflow_dispatch' };

/** A release or push event payload from @octokit/webhooks-examples, pointed at our repository and tag. */
function eventPayload(event: Event): unknown {
  const group = (examples as unknown as Array<{ name: string; examples: Array<Record<string, any>> }>).find(
    (e) => e.name === (event.name === 'workflow_dispatch' ? 'workflow_dispatch' : event.name),
  );
  if (event.name === 'release') {
    const payload = structuredClone(group!.examples.find((e) => e.action === (event.action ?? 'published'))!);
    payload.release.tag_name = event.tag;
    payload.repository.full_name = REPOSITORY;
    return payload;
  }
  if (event.name === 'push') {
    const payload = structuredClone(group!.examples[0]);
    payload.ref = `refs/tags/${event.tag}`;
    payload.repository.full_name = REPOSITORY;
    return payload;
  }
  return structuredClone(group?.examples[0] ?? {});
}

export async function runAction(options: {
  workspace: string;
  apiUrl: string;
  event: Event;
  inputs?: Record<string, string>;
  /** More of the runner's environment (an ID token's request URL and token, another server URL). */
  env?: Record<string, string>;
}): Promise<ActionRun> {
  const runner = await tempDir('c2f-runner-');
  const eventPath = path.join(runner, 'event.json');
  const outputPath = path.join(runner, 'output.txt');
  const summaryPath = path.join(runner, 'summary.md');
  await writeFile(eventPath, JSON.stringify(eventPayload(options.event)));
  await writeFile(outputPath, '');
  await writeFile(summaryPath, '');
  const inputs = { token: 'ghs_standin_token', ...options.inputs };
  const env: NodeJS.ProcessEnv = {
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_EVENT_NAME: options.event.name,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REF: 'tag' in options.event ? `refs/tags/${options.event.tag}` : 'refs/heads/main',
    GITHUB_API_URL: options.apiUrl,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    RUNNER_TEMP: runner,
    ...options.env,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  for (const key of Object.keys(process.env))
    if (key.startsWith('INPUT_') || key.startsWith('GITHUB_') || key.startsWith('ACTIONS_')) env[key] ??= undefined;
  const result = await run(process.execPath, [path.join(REPO, 'dist', 'action.js')], { cwd: options.workspace, env });
  return {
    ...result,
    outputs: parseOutputs(await readFile(outputPath, 'utf8')),
    summary: await readFile(summaryPath, 'utf8'),
  };
}

/** Parses the GITHUB_OUTPUT file (`name<<delimiter` blocks). */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const block = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!block) continue;
    const value: string[] = [];
    while (++i < lines.length && lines[i] !== block[2]) value.push(lines[i]);
    outputs[block[1]] = value.join('\n');
  }
  return outputs;
}

/** A single-plugin repository (manifest.json at the root). */
export async function singlePluginRepo(): Promise<string> {
  const dir = path.join(await tempDir('c2f-repo-'), 'repo');
  await cp(path.join(FIXTURES, 'plugins', 'full-plugin'), dir, { recursive: true });
  return dir;
}

/** A repository laid out like Conn2Flow's public plugins repository: environment.json with plugins[]. */
export async function multiPluginRepo(): Promise<string> {
  const dir = path.join(await tempDir('c2f-repo-'), 'repo');
  await mkdir(dir, { recursive: true });
  await cp(path.join(FIXTURES, 'plugins', 'full-plugin'), path.join(dir, 'full-plugin'), { recursive: true });
  await cp(path.join(FIXTURES, 'plugins', 'other-plugin'), path.join(dir, 'other-plugin'), { recursive: true });
  await writeFile(
    path.join(dir, 'environment.json'),
    JSON.stringify(
      {
        activePlugin: { id: 'full-plugin' },
        devEnvironment: {
          source: '.',
          target: '',
          dockerPath: '',
          deploys: 'deploys/',
          tests: 'tests',
          testsBuild: 'tests/build',
        },
        plugins: [
          { id: 'full-plugin', name: 'Full Plugin', path: 'full-plugin/' },
          { id: 'other-plugin', name: 'Other Plugin', path: 'other-plugin/' },
        ],
      },
      null,
      4,
    ),
  );
  return dir;
}
