// GET /metrics in Prometheus's text format (prom-client): requests by route and status and their
// duration, database statement and commit times, transactions per commit (group commit), cache
// hits and misses, jobs by type and status, and rate-limit refusals. The operator token, or
// PROPDICT_METRICS_TOKEN, may read it.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Principal } from '../modules/auth/auth.ts';
import type { RateLimiter } from '../modules/rate-limits/rate-limiter.ts';
import type { Services } from '../services.ts';
import { AppError } from '../shared/errors.ts';
import { hashToken } from '../shared/ids.ts';
import { nativeSurface } from './native-surface.ts';

export interface Metrics {
  registry: Registry;
  /** What createDb is given: every statement's duration, and SQLite's (group) commits. */
  db: {
    onQuery(ms: number, sql: string): void;
    onCommit(transactions: number, ms: number): void;
  };
  request(method: string, route: string, status: number, ms: number): void;
}

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type RequestLabels = { method: string; route: string; status: string };
/** Observations of one label set: how many, their sum, and how many fell in each bucket (not cumulative). */
type Series<L> = { labels: L; count: number; sum: number; buckets: number[] };

/**
 * A histogram whose series are plain numbers that the hot path holds and counts itself, rendered
 * by the registry in prom-client's own histogram format when scraped. prom-client's observe
 * validates and hashes the labels on every call; every answer and every statement makes one.
 */
class CountedHistogram<L extends Record<string, string>> extends Histogram<Extract<keyof L, string>> {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #series: Series<L>[] = [];

  constructor(registry: Registry, config: { name: string; help: string; labelNames?: Extract<keyof L, string>[]; buckets: readonly number[] }) {
    super({ ...config, labelNames: config.labelNames ?? [], buckets: [...config.buckets], registers: [registry] });
    this.#name = config.name;
    this.#help = config.help;
    this.#bounds = config.buckets;
  }

  /** A new series; the caller keeps it and counts into it with `add`. */
  series(labels: L): Series<L> {
    const series = { labels, count: 0, sum: 0, buckets: this.#bounds.map(() => 0) };
    this.#series.push(series);
    return series;
  }

  add(series: Series<L>, value: number): void {
    series.count++;
    series.sum += value;
    const at = this.#bounds.findIndex((le) => value <= le);
    if (at >= 0) series.buckets[at]++;
  }

  /** What the registry renders (and `get` splays): per series, each bucket's running count, then +Inf, sum and count. */
  async getForPromString() {
    const bucket = `${this.#name}_bucket`;
    const values: { labels: Record<string, string | number>; sharedLabels: L; value: number; metricName: string }[] = [];
    for (const { labels, count, sum, buckets } of this.#series) {
      let below = 0;
      this.#bounds.forEach((le, i) => values.push({ labels: { le }, sharedLabels: labels, value: (below += buckets[i]), metricName: bucket }));
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: labels, value: count, metricName: bucket },
        { labels: {}, sharedLabels: labels, value: sum, metricName: `${this.#name}_sum` },
        { labels: {}, sharedLabels: labels, value: count, metricName: `${this.#name}_count` },
      );
    }
    return { name: this.#name, help: this.#help, type: 'histogram', values, aggregator: 'sum' };
  }
}

/** `processMetrics`: also the process's own (CPU, memory, event loop delay, heap); a server's, not a test's. */
export function createMetrics({ processMetrics = false } = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (processMetrics) collectDefaultMetrics({ register: registry, prefix: 'propdict_' });
  // Answers counted per series in plain numbers, read by prom-client when it is scraped.
  const answered: Series<RequestLabels>[] = [];
  new Counter({
    name: 'propdict_http_requests_total',
    help: 'Requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers,
    collect() {
      this.reset();
      for (const { labels, count } of answered) this.inc(labels, count);
    },
  });
  const durations = new CountedHistogram<RequestLabels>(registry, { name: 'propdict_http_request_duration_seconds', help: 'Time to answer a request, by method, route and status', labelNames: ['method', 'route', 'status'], buckets: SECONDS });
  const statementTimes = new CountedHistogram<Record<string, never>>(registry, { name: 'propdict_db_statement_duration_seconds', help: 'Time of each database statement', buckets: SECONDS });
  const statements = statementTimes.series({});
  const commits = new Histogram({ name: 'propdict_db_commit_duration_seconds', help: 'Time of each commit (on SQLite, its sync to disk included)', buckets: SECONDS, registers });
  const grouped = new Histogram({
    name: 'propdict_db_commit_transactions',
    help: 'Transactions per commit: on SQLite, how many concurrent transactions shared it (group commit); 1 on PostgreSQL',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers,
  });
  // Route, then method, then status: every answer finds its series without building a key.
  const perRoute = new Map<string, Map<string, Map<number, Series<RequestLabels>>>>();
  return {
    registry,
    db: {
      onQuery(ms, sql) {
        statementTimes.add(statements, ms / 1000);
        // PostgreSQL's commits are statements; SQLite's are told by onCommit.
        if (sql === 'commit') {
          commits.observe(ms / 1000);
          grouped.observe(1);
        }
      },
      onCommit(transactions, ms) {
        commits.observe(ms / 1000);
        grouped.observe(transactions);
      },
    },
    request(method, route, status, ms) {
      let byMethod = perRoute.get(route);
      if (!byMethod) perRoute.set(route, (byMethod = new Map()));
      let byStatus = byMethod.get(method);
      if (!byStatus) byMethod.set(method, (byStatus = new Map()));
      let series = byStatus.get(status);
      if (!series) {
        byStatus.set(status, (series = durations.series({ method, route, status: String(status) })));
        answered.push(series);
      }
      durations.add(series, ms / 1000);
    },
  };
}

/** Counts every answer of the app, whatever surface gave it (register on the root instance). */
export function countRequests(app: FastifyInstance, metrics: Metrics): void {
  // Every answer passes here: a callback, so that it costs no promise turn.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.method, request.routeOptions.url ?? 'no route', reply.statusCode, reply.elapsedTime);
    done();
  });
}

/** What the scrape reads from the rest of the app when it is asked for. */
function gaugesOf(metrics: Metrics, services: Services, limiter: RateLimiter): void {
  const registers = [metrics.registry];
  const caches = { keys: services.apiKeys.cacheStats, workspaces: services.workspaces.cacheStats, dictionary: services.properties.cacheStats };
  // The registry collects every metric of a scrape at once: the two job gauges share the read of
  // the summary under way, so a scrape reads it once.
  let reading: ReturnType<typeof services.jobs.summary> | undefined;
  const jobSummary = () => (reading ??= services.jobs.summary().finally(() => (reading = undefined)));
  new Counter({
    name: 'propdict_cache_lookups_total',
    help: 'In-process cache lookups by cache (keys, workspaces, dictionary) and result (hit, miss)',
    labelNames: ['cache', 'result'],
    registers,
    collect() {
      this.reset();
      for (const [cache, stats] of Object.entries(caches)) {
        this.inc({ cache, result: 'hit' }, stats.hits);
        this.inc({ cache, result: 'miss' }, stats.misses);
      }
    },
  });
  new Counter({
    name: 'propdict_rate_limit_refusals_total',
    help: 'Requests refused by a rate limit, by surface',
    labelNames: ['surface'],
    registers,
    collect() {
      this.reset();
      for (const [surface, count] of limiter.refusals) this.inc({ surface }, count);
    },
  });
  new Gauge({
    name: 'propdict_jobs',
    help: 'Jobs by type and status (queued, running, done, failed, cancelled)',
    labelNames: ['type', 'status'],
    registers,
    async collect() {
      this.reset();
      for (const { type, status, jobs } of await jobSummary()) this.set({ type, status }, jobs);
    },
  });
  new Gauge({
    name: 'propdict_job_units',
    help: 'Units of work of the jobs (values, rows, profiles) by type, status and kind (done, total)',
    labelNames: ['type', 'status', 'kind'],
    registers,
    async collect() {
      this.reset();
      for (const { type, status, done, total } of await jobSummary()) {
        this.set({ type, status, kind: 'done' }, done);
        this.set({ type, status, kind: 'total' }, total);
      }
    },
  });
}

/** GET /metrics: the operator token, or the metrics token when one is configured. */
export function metricsRoute(app: FastifyInstance, { metrics, services, limiter, token }: { metrics: Metrics; services: Services; limiter: RateLimiter; token?: string }): void {
  gaugesOf(metrics, services, limiter);
  const tokenHash = token === undefined ? undefined : Buffer.from(hashToken(token), 'hex');
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    const header = request.headers.authorization;
    const bearer = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
    if (bearer === undefined) return nativeSurface.answers.error(reply, new AppError('UNAUTHENTICATED', 'A bearer token is required: the operator token or PROPDICT_METRICS_TOKEN.', [], 'NO_CREDENTIAL'));
    const isMetricsToken = tokenHash !== undefined && timingSafeEqual(tokenHash, Buffer.from(hashToken(bearer), 'hex'));
    if (!isMetricsToken) {
      let principal: Principal | undefined;
      try {
        principal = await services.apiKeys.authenticate(bearer);
      } catch {
        principal = undefined;
      }
      if (principal === undefined) return nativeSurface.answers.error(reply, new AppError('UNAUTHENTICATED', 'The token is not valid or was revoked.', [], 'BAD_CREDENTIAL'));
      if (principal.kind !== 'operator') return nativeSurface.answers.error(reply, new AppError('FORBIDDEN', 'Only the operator token or PROPDICT_METRICS_TOKEN may read the metrics.', [], 'OPERATOR_ONLY'));
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
