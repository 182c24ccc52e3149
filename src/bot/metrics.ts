import { Counter, Gauge, Registry } from 'prom-client';
import type { Database } from './store/database.ts';
import { hostsByEnrolment, jobsByState } from './store/counts.ts';

// GET /metrics in Prometheus' text format: what arrived, what was pushed and how it went, and the jobs in
// each state (read from the store at scrape time, so every bot process reports the shared truth).

export const registry = new Registry();

export const webhooksReceived = new Counter({
  name: 'c2f_webhooks_total',
  help: 'Verified GitHub webhooks handled, by event and whether the release was new.',
  labelNames: ['event', 'outcome'],
  registers: [registry],
});
export const pushes = new Counter({
  name: 'c2f_pushes_total',
  help: 'Pushes to hosts, by outcome (delivered, refused, gone, retry, failed).',
  labelNames: ['outcome'],
  registers: [registry],
});
export const reports = new Counter({
  name: 'c2f_reports_total',
  help: 'Host reports, by outcome (applied, repeat, stale, rejected).',
  labelNames: ['outcome'],
  registers: [registry],
});
export const heartbeats = new Counter({
  name: 'c2f_heartbeats_total',
  help: 'Verified host heartbeats.',
  registers: [registry],
});
export const pushesInFlight = new Gauge({
  name: 'c2f_pushes_in_flight',
  help: 'Pushes this process is making right now.',
  registers: [registry],
});
export const leaseTakeovers = new Counter({
  name: 'c2f_lease_takeovers_total',
  help: 'Jobs this process took over because the process delivering them let their lease run out (it died).',
  registers: [registry],
});

let database: Database | undefined;

new Gauge({
  name: 'c2f_host_jobs',
  help: 'Per-host jobs by state, across all rollouts.',
  labelNames: ['state'],
  registers: [registry],
  async collect() {
    if (!database) return;
    this.reset();
    for (const [state, n] of Object.entries(await jobsByState(database))) this.set({ state }, n);
  },
});
new Gauge({
  name: 'c2f_hosts',
  help: 'Registered hosts, by whether they are enrolled.',
  labelNames: ['enrolled'],
  registers: [registry],
  async collect() {
    if (!database) return;
    this.reset();
    for (const [enrolled, n] of Object.entries(await hostsByEnrolment(database))) this.set({ enrolled }, n);
  },
});

/** The store the gauges read at scrape time. */
export function useDatabaseForMetrics(db: Database): void {
  database = db;
}
