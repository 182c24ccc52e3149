import assert from 'node:assert/strict';
import type { GitHubStandIn } from '../../dev/github/stand-in.ts';
import type { WebhookTarget } from '../../dev/github/webhooks.ts';
import { WEBHOOK_PATH } from '../../src/bot/server.ts';

// A bundle bot as GitHub sees it (its webhook URL and secret), and an author publishing a plugin release of a
// private repository on the stand-in, which sends the signed webhook; the bot must answer 200.

export function webhookTarget(bot: { url: string; webhookSecret: string }): WebhookTarget {
  return { url: `${bot.url}${WEBHOOK_PATH}`, secret: bot.webhookSecret };
}

export interface PublishedRelease {
  id: number;
  tagName: string;
}

/** Publishes `plugin-<plugin>-v<version>` of a private repository with its package, and tells the bot. */
export async function publishRelease(
  github: GitHubStandIn,
  bot: { url: string; webhookSecret: string },
  release: { repository: string; plugin: string; version: string; zip: Buffer },
): Promise<PublishedRelease> {
  const { release: stored, webhook } = await github.publishRelease(
    webhookTarget(bot),
    release.repository,
    { tagName: `plugin-${release.plugin}-v${release.version}`, zip: release.zip },
    { privateRepository: true },
  );
  assert.equal(webhook.status, 200, `the release webhook: ${webhook.body}`);
  return { id: stored.id, tagName: stored.tagName };
}
