// GitHub never retries a webhook it could not deliver. This runs on a schedule: it lists the App's recent
// deliveries and asks GitHub to redeliver each one that failed and has not succeeded since (a delivery and
// its redeliveries share a guid). Redelivered release events are idempotent on our side.

interface OctokitLike {
  request(route: string, parameters: Record<string, unknown>): Promise<{ data: unknown }>;
}

interface DeliveryItem {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status_code: number;
}

/** How far back failed deliveries are redelivered (GitHub keeps them for three days). */
export const REDELIVERY_WINDOW_HOURS = 24;
const MAX_PAGES = 10;

export async function redeliverFailedWebhooks(
  appOctokit: OctokitLike,
  now = new Date(),
  windowHours = REDELIVERY_WINDOW_HOURS,
): Promise<string[]> {
  const since = now.getTime() - windowHours * 3600_000;
  const byGuid = new Map<string, DeliveryItem[]>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { data } = await appOctokit.request('GET /app/hook/deliveries', {
      per_page: 100,
      ...(cursor ? { cursor } : {}),
    });
    const items = data as DeliveryItem[];
    for (const item of items) byGuid.set(item.guid, [...(byGuid.get(item.guid) ?? []), item]);
    if (items.length < 100 || Date.parse(items.at(-1)!.delivered_at) < since) break;
    cursor = String(items.at(-1)!.id);
  }
  const redelivered: string[] = [];
  for (const [guid, attempts] of byGuid) {
    const ok = attempts.some((a) => a.status_code >= 200 && a.status_code < 300);
    const latest = attempts.reduce((a, b) => (Date.parse(a.delivered_at) > Date.parse(b.delivered_at) ? a : b));
    if (ok || Date.parse(latest.delivered_at) < since) continue;
    await appOctokit.request('POST /app/hook/deliveries/{delivery_id}/attempts', { delivery_id: latest.id });
    redelivered.push(guid);
  }
  return redelivered;
}
