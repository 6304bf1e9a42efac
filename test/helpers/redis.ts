import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis that Redis-path tests use; each run claims a database index of its own on it. */
export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const LOCK_KEY = 'timbre-test:lock';
/** Database indexes tests may claim (0 is left to people running the app by hand). */
const DB_INDEXES = [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1];

let redisReachable: Promise<boolean> | undefined;

/** Whether Redis answers. In CI an unreachable server is an error, never a skip. */
export function redisAvailable(): Promise<boolean> {
  redisReachable ??= (async () => {
    const probe = new Redis(REDIS_TEST_URL, {
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return true;
    } catch (err) {
      if (process.env.CI)
        throw new Error(`Redis is required in CI: ${String(err)}`, { cause: err });
      process.stderr.write(`Redis unreachable at ${REDIS_TEST_URL}: Redis-path tests skipped\n`);
      return false;
    } finally {
      probe.disconnect();
    }
  })();
  return redisReachable;
}

export interface TestRedis {
  /** `redis://host:port/<db>`: a database index this run holds a claim on. */
  url: string;
  db: number;
  /** A BullMQ queue name no other run uses. */
  queueName: string;
  /** A client on that database (maxRetriesPerRequest null, as BullMQ wants). */
  client: Redis;
  /** Keys on the claimed database matching `pattern`. */
  keys(pattern: string): Promise<string[]>;
  /** Deletes what Timbre and BullMQ left on the database, releases the claim, disconnects. */
  cleanup(): Promise<void>;
}

/**
 * Claims a Redis database index for this run (a lock key with a TTL, so a
 * crashed run frees it), with a private BullMQ queue name. Timbre's cache and
 * rate-limit keys have fixed prefixes, so a database of their own keeps
 * concurrent runs apart.
 */
export async function createTestRedis(): Promise<TestRedis> {
  const token = randomBytes(8).toString('hex');
  const base = new URL(REDIS_TEST_URL);
  for (const db of DB_INDEXES) {
    const url = new URL(base.toString());
    url.pathname = `/${db}`;
    const client = new Redis(url.toString(), { maxRetriesPerRequest: null });
    const claimed = await client.set(LOCK_KEY, token, 'EX', 900, 'NX');
    if (claimed !== 'OK') {
      client.disconnect();
      continue;
    }
    // What an earlier run left behind (a worker process that outlived its
    // run's cleanup can write BullMQ keys again): the database is this run's now.
    for (let cursor = '0'; ;) {
      const [next, batch] = await client.scan(cursor, 'COUNT', 500);
      const stale = batch.filter((k) => k !== LOCK_KEY);
      if (stale.length) await client.del(...stale);
      cursor = next;
      if (cursor === '0') break;
    }
    const queueName = `timbre-test-${token}`;
    const keys = async (pattern: string) => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        found.push(...batch);
      } while (cursor !== '0');
      return found;
    };
    return {
      url: url.toString(),
      db,
      queueName,
      client,
      keys,
      cleanup: async () => {
        const leftovers = [
          ...(await keys('timbre:*')),
          ...(await keys('timbre-rl:*')),
          ...(await keys('timbre-limits:*')),
          ...(await keys(`bull:${queueName}:*`)),
        ];
        for (let i = 0; i < leftovers.length; i += 500) {
          await client.del(...leftovers.slice(i, i + 500));
        }
        if ((await client.get(LOCK_KEY)) === token) await client.del(LOCK_KEY);
        client.disconnect();
      },
    };
  }
  throw new Error('every Redis test database is claimed by another run');
}
