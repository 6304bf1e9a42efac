import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { statfs } from 'node:fs/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueStats } from './jobs/queue.js';

/**
 * The seed's indicators (provider call success rate, creation duration,
 * upload success rate, database operation performance) plus queue depth and
 * job outcomes, on a registry of their own (one per app, so tests don't mix).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly providerCalls = new Counter({
    name: 'timbre_provider_calls_total',
    help: 'Voice provider calls by operation and outcome (ok or the error kind)',
    labelNames: ['provider', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly providerCallSeconds = new Histogram({
    name: 'timbre_provider_call_duration_seconds',
    help: 'Voice provider call duration',
    labelNames: ['provider', 'operation'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly creationSeconds = new Histogram({
    name: 'timbre_voice_creation_duration_seconds',
    help: 'From create_voice to ready or failed',
    labelNames: ['outcome'] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly uploads = new Counter({
    name: 'timbre_uploads_total',
    help: 'File uploads by outcome (ok, rejected = 4xx, error = 5xx)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly dbSeconds = new Histogram({
    name: 'timbre_db_query_duration_seconds',
    help: 'Database operation duration by kind',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: 'timbre_jobs_total',
    help: 'Job runs by type and outcome (succeeded, retried, failed)',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly httpSeconds = new Histogram({
    name: 'timbre_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [this.registry],
  });
  readonly cacheLookups = new Counter({
    name: 'timbre_cache_lookups_total',
    help: 'Cache lookups by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly cpuTaskSeconds = new Histogram({
    name: 'timbre_cpu_task_duration_seconds',
    help: 'Worker-pool task duration (queueing included) by task and outcome',
    labelNames: ['task', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly cpuTaskFailures = new Counter({
    name: 'timbre_cpu_task_failures_total',
    help: 'Worker-pool tasks that failed by task and failure (timeout, memory, queue_full, crashed)',
    labelNames: ['task', 'failure'] as const,
    registers: [this.registry],
  });

  /** Exposes the worker pool's queue depth, running tasks and pressure as gauges. */
  watchCpuPool(
    load: () => { queued: number; running: number; threads: number; pressure: number },
  ): void {
    new Gauge({
      name: 'timbre_cpu_pool_tasks',
      help: 'Worker-pool tasks by state (queued, running) and the pool size (threads)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const l = load();
        this.set({ state: 'queued' }, l.queued);
        this.set({ state: 'running' }, l.running);
        this.set({ state: 'threads' }, l.threads);
      },
    });
    new Gauge({
      name: 'timbre_cpu_pool_pressure',
      help: 'Worker-pool tasks (running + queued) per thread',
      registers: [this.registry],
      collect() {
        this.set(load().pressure);
      },
    });
  }

  /** Publishes `timbre_workers_alive` (job workers whose heartbeat is fresh, across all processes). */
  watchWorkers(alive: () => Promise<number>): void {
    new Gauge({
      name: 'timbre_workers_alive',
      help: 'Job workers alive (heartbeat within three intervals), across every process',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await alive());
        } catch {
          // The database is away: report nothing rather than a false zero.
          this.reset();
        }
      },
    });
  }

  /**
   * `storageDir`: a local storage folder whose file system's free and total
   * bytes are reported (read at each scrape, so always current).
   */
  constructor(queueStats?: () => Promise<QueueStats>, storageDir?: string) {
    collectDefaultMetrics({ register: this.registry, prefix: 'timbre_' });
    if (storageDir) {
      const sizeOf = async () => statfs(storageDir).catch(() => undefined);
      new Gauge({
        name: 'timbre_storage_free_bytes',
        help: 'Bytes available to Timbre on the local storage file system',
        registers: [this.registry],
        async collect() {
          const s = await sizeOf();
          if (s) this.set(s.bavail * s.bsize);
          else this.reset();
        },
      });
      new Gauge({
        name: 'timbre_storage_size_bytes',
        help: 'Size of the local storage file system',
        registers: [this.registry],
        async collect() {
          const s = await sizeOf();
          if (s) this.set(s.blocks * s.bsize);
          else this.reset();
        },
      });
    }
    if (queueStats) {
      new Gauge({
        name: 'timbre_queue_jobs',
        help: 'Jobs in the queue by state',
        labelNames: ['state'] as const,
        registers: [this.registry],
        async collect() {
          // A queue that cannot be counted (Redis away) must not fail the whole scrape.
          const s = await queueStats().catch(() => undefined);
          if (!s) {
            this.reset();
            return;
          }
          for (const [state, n] of Object.entries(s) as [string, number][]) this.set({ state }, n);
        },
      });
    }
  }

  /** A Kysely plugin that times every query (by its root operation). */
  dbPlugin(): KyselyPlugin {
    // Weak: a query that fails never reaches transformResult, and its entry must not stay.
    const started = new WeakMap<object, { t0: number; op: string }>();
    const hist = this.dbSeconds;
    return {
      transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
        started.set(args.queryId, { t0: performance.now(), op: opName(args.node.kind) });
        return args.node;
      },
      async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
        const s = started.get(args.queryId);
        if (s) {
          started.delete(args.queryId);
          hist.observe({ operation: s.op }, (performance.now() - s.t0) / 1000);
        }
        return args.result;
      },
    };
  }
}

function opName(kind: string): string {
  switch (kind) {
    case 'SelectQueryNode':
      return 'select';
    case 'InsertQueryNode':
      return 'insert';
    case 'UpdateQueryNode':
      return 'update';
    case 'DeleteQueryNode':
      return 'delete';
    default:
      return 'other';
  }
}
