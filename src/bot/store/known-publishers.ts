import type { Queryable } from './database.ts';

// What an enrollment command pins for the plugins a new host follows: publisher keys and build provenance.

/**
 * The publisher keys the bot knows for the plugins a host follows, for the enrollment command to pin: the
 * bot's C2F_PUBLISHER_KEYS for the repository, else the key that verified the plugin's newest release.
 */
export async function knownPublisherKeys(
  db: Queryable,
  plugins: ReadonlyArray<{ repository: string; pluginId: string }>,
  botKeys: Record<string, string[]> = {},
): Promise<Array<{ pluginId: string; key: string }>> {
  const known: Array<{ pluginId: string; key: string }> = [];
  for (const { repository, pluginId } of plugins) {
    const configured = botKeys[repository];
    if (configured) {
      known.push(...configured.map((key) => ({ pluginId, key })));
      continue;
    }
    const [row] = await db.query<{ key: string | null }>(
      `select publisher->>'publisherKey' as key from releases where repository = $1 and plugin_id = $2 and state = 'resolved'
         and publisher->>'status' = 'verified' order by resolved_at desc limit 1`,
      [repository, pluginId],
    );
    if (row?.key) known.push({ pluginId, key: row.key });
  }
  return known;
}

/**
 * The build provenance a host may require for the plugins it follows, for the enrollment command to pin: the
 * repository and the workflow the bot's C2F_PROVENANCE_WORKFLOWS names (when one), else the workflow that built
 * the plugin's newest release whose provenance verified. Nothing when neither is known.
 */
export async function knownProvenance(
  db: Queryable,
  plugins: ReadonlyArray<{ repository: string; pluginId: string }>,
  botWorkflows: Record<string, string[]> = {},
): Promise<Array<{ pluginId: string; repository: string; workflow?: string }>> {
  const known: Array<{ pluginId: string; repository: string; workflow?: string }> = [];
  for (const { repository, pluginId } of plugins) {
    const configured = botWorkflows[repository];
    if (configured) {
      known.push({ pluginId, repository, ...(configured.length === 1 ? { workflow: configured[0] } : {}) });
      continue;
    }
    const [row] = await db.query<{ built_by: string | null }>(
      `select publisher->'provenance'->>'builtBy' as built_by from releases where repository = $1 and plugin_id = $2
         and state = 'resolved' and publisher->'provenance'->>'status' = 'verified' order by resolved_at desc limit 1`,
      [repository, pluginId],
    );
    const workflow = row?.built_by?.slice(repository.length + 1).split('@')[0];
    if (workflow) known.push({ pluginId, repository, workflow });
  }
  return known;
}
