import { randomBytes } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DatabaseLoginError, type PoolDriver, RotatingPool } from 'rotator/consumer';
import { describe, expect, it } from 'vitest';
import { SecretFormatError } from '../../shared/errors.js';
import { postgresDialects } from '../../shared/strategies/postgres/PostgresDialect.js';
import { InMemorySecretsManager } from '../helpers/inMemorySecretsManager.js';

const newPassword = () => randomBytes(18).toString('base64url');
const secretOf = (username: string, password: string) =>
  JSON.stringify({ engine: 'postgres', host: 'db.internal', username, password, ssl: false });

/** A database that knows one password per user, and the pools the library builds on it. */
class FakeDatabase {
  readonly passwords = new Map<string, string>();
  readonly pools: FakePool[] = [];
  logins = 0;

  driver(): PoolDriver<FakePool> {
    return {
      label: 'PostgreSQL',
      dialects: postgresDialects(),
      create: async (login) => {
        const pool = new FakePool(this, login.username, login.password);
        this.pools.push(pool);
        return pool;
      },
      isLoginRefused: (error) => (error as { code?: string }).code === '28P01',
      end: async (pool) => {
        pool.ended = true;
      },
    };
  }
}

class FakePool {
  ended = false;
  constructor(
    readonly db: FakeDatabase,
    readonly username: string,
    readonly password: string,
  ) {}

  /** Logs in (every call, as a pool growing would) and runs `sql`. */
  async query(sql: string): Promise<string> {
    if (this.ended) throw new Error('pool ended');
    await new Promise((resolve) => setImmediate(resolve));
    this.db.logins += 1;
    if (this.db.passwords.get(this.username) !== this.password) {
      throw Object.assign(new Error(`password authentication failed for user "${this.username}"`), {
        code: '28P01',
      });
    }
    return `${this.username}: ${sql}`;
  }
}

function setup(retry = {}) {
  const sm = new InMemorySecretsManager();
  const db = new FakeDatabase();
  const first = newPassword();
  db.passwords.set('app', first);
  sm.seedCurrent(secretOf('app', first));
  const sleeps: number[] = [];
  const pool = new RotatingPool(db.driver(), {
    secretId: sm.arn,
    client: sm.client,
    minRefreshIntervalMs: 0,
    retry,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  const reads = () => sm.callCounts().GetSecretValue ?? 0;
  return { sm, db, pool, first, sleeps, reads };
}

async function putCurrent(sm: InMemorySecretsManager, value: string) {
  await sm.client.send(new PutSecretValueCommand({ SecretId: sm.arn, SecretString: value }));
}

describe('RotatingPool (consumer pools, engine-independent part)', () => {
  it('a thousand operations refused after a rotation cost one read and fail none', async () => {
    // Prepare
    const { sm, db, pool, reads } = setup();
    await pool.run((p) => p.query('SELECT 1'));
    const second = newPassword();
    db.passwords.set('app', second); // the rotation: database first, then the secret
    await putCurrent(sm, secretOf('app', second));

    // Act
    const results = await Promise.allSettled(
      Array.from({ length: 1_000 }, (_, i) => pool.run((p) => p.query(`SELECT ${i}`))),
    );

    // Assess
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(reads()).toBe(2);
    expect(db.pools).toHaveLength(2);
    expect(db.pools[0]?.ended).toBe(true);
    expect(pool.stats).toMatchObject({ poolsBuilt: 2, secretReads: 2 });
    expect(pool.stats.refusedLogins).toBeGreaterThan(0);
  });

  it('in the single-user window uses AWSPENDING, the password the database already has', async () => {
    // Prepare
    const { sm, db, pool } = setup();
    await pool.run((p) => p.query('SELECT 1'));
    const pending = newPassword();
    sm.startRotation(undefined, secretOf('app', pending)); // createSecret
    db.passwords.set('app', pending); // setSecret; finishSecret has not run

    // Act
    const result = await pool.run((p) => p.query('SELECT 2'));

    // Assess
    expect(result).toBe('app: SELECT 2');
    expect(db.pools.at(-1)?.password).toBe(pending);
  });

  it('never takes an AWSPENDING of another user (alternating users: AWSCURRENT is the one)', async () => {
    // Prepare
    const { sm, db, pool } = setup({ maxAttempts: 3 });
    await pool.run((p) => p.query('SELECT 1'));
    const clone = newPassword();
    sm.startRotation(undefined, secretOf('app_clone', clone));
    db.passwords.set('app_clone', clone);
    db.passwords.set('app', newPassword()); // changed outside rotation: nothing works

    // Act
    const error = await pool.run((p) => p.query('SELECT 2')).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(DatabaseLoginError);
    expect(db.pools.map((p) => p.username)).toEqual(['app']);
  });

  it('gives up after maxAttempts with bounded back-off and a typed error without the password', async () => {
    // Prepare
    const { db, pool, first, sleeps } = setup({
      maxAttempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 300,
    });
    db.passwords.set('app', newPassword());

    // Act
    const error = await pool.run((p) => p.query('SELECT 1')).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(DatabaseLoginError);
    expect(error).toMatchObject({
      engine: 'PostgreSQL',
      username: 'app',
      code: '28P01',
      attempts: 5,
    });
    expect(sleeps).toHaveLength(4);
    for (const [i, ms] of sleeps.entries()) {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(Math.min(300, 100 * 2 ** i));
    }
    const everything = [
      String(error),
      (error as Error).stack,
      JSON.stringify(error),
      String((error as Error).cause),
      ((error as Error).cause as Error).stack,
    ].join('\n');
    expect(everything).not.toContain(first);
  });

  it('passes other errors through with their class and code, scrubbed of secret values', async () => {
    // Prepare
    const { pool, first } = setup();
    class DriverError extends Error {
      code = '42601';
      detail = `near "${first}"`;
    }

    // Act
    const error = await pool
      .run(async () => {
        throw new DriverError(`syntax error at or near "${first}"`);
      })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({ code: '42601' });
    expect(`${(error as Error).message} ${(error as DriverError).detail}`).not.toContain(first);
    expect((error as Error).message).toContain('[REDACTED]');
  });

  it('retires the old pool only when its leased connections are returned', async () => {
    // Prepare
    const { sm, db, pool } = setup();
    const lease = await pool.lease(async (p) => p);
    const second = newPassword();
    db.passwords.set('app', second);
    await putCurrent(sm, secretOf('app', second));
    await pool.run((p) => p.query('SELECT 1'));
    await new Promise((resolve) => setImmediate(resolve));
    const endedWhileLeased = db.pools[0]?.ended;

    // Act
    lease.release();
    lease.release(); // a second release is ignored
    await new Promise((resolve) => setImmediate(resolve));

    // Assess
    expect(endedWhileLeased).toBe(false);
    expect(db.pools[0]?.ended).toBe(true);
  });

  it('refuses a malformed new value by field name and keeps the working pool', async () => {
    // Prepare
    const { sm, db, pool, first } = setup({ maxAttempts: 2 });
    await pool.run((p) => p.query('SELECT 1'));
    const second = newPassword();
    db.passwords.set('app', second);
    await putCurrent(sm, JSON.stringify({ engine: 'postgres', username: 'app', password: second }));

    // Act
    const error = await pool.run((p) => p.query('SELECT 2')).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SecretFormatError);
    expect(error).toMatchObject({ field: 'host' });
    expect(String((error as Error).stack)).not.toContain(second);
    expect(String((error as Error).stack)).not.toContain(first);
    expect(db.pools[0]?.ended).toBe(false);
  });

  it('follows a label move made by finishSecret without rebuilding for the same value', async () => {
    // Prepare
    const { sm, db, pool } = setup();
    await pool.run((p) => p.query('SELECT 1'));
    const pending = newPassword();
    const token = sm.startRotation(undefined, secretOf('app', pending));
    db.passwords.set('app', pending);
    await pool.run((p) => p.query('SELECT 2'));

    // Act
    await sm.finishRotation(token);
    await pool.run((p) => p.query('SELECT 3'));

    // Assess
    expect(db.pools).toHaveLength(2);
  });
});
