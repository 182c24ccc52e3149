import { after, before, beforeEach } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import type { Engine } from './databases.ts';
import { Fleet } from './fleet.ts';
import { StagedBot } from './staged-rollout-bot.ts';

// What a test file of staged rollouts shares: one GitHub stand-in and one fleet for the file, and in each
// engine's describe a StagedBot the fleet reports to, its clock back to now before every test.

export function stagedFile(): { github: GitHubStandIn; fleet: Fleet } {
  const github = new GitHubStandIn();
  const fleet = new Fleet();
  before(async () => {
    await github.start();
    await fleet.start();
  });
  after(async () => {
    await fleet.stop();
    await github.stop();
  });
  return { github, fleet };
}

/** Call inside a describe: its bot, once its `before` has run. */
export function stagedBotFor(
  engine: Engine,
  { github, fleet }: { github: GitHubStandIn; fleet: Fleet },
  env: NodeJS.ProcessEnv = {},
): () => StagedBot {
  let bot: StagedBot | undefined;
  before(async () => {
    bot = await StagedBot.create(engine, github, undefined, env);
  });
  beforeEach(() => {
    fleet.botUrl = bot!.url;
    bot!.clock.reset();
  });
  after(() => bot?.stop());
  return () => bot!;
}
