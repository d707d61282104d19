import { describe, expect, it } from 'vitest';
import { type BulkItem, type BulkResult, runBulk } from '../../cli/lib/bulk.js';
import { processOutput } from '../../cli/lib/output.js';
import { type Timing, TokenBucket, withThrottlingRetry } from '../../cli/lib/rateLimiter.js';
import { secretRegistry } from '../../shared/logging/redaction.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword } from '../helpers/credentials.js';

const logs = captureLogs();

/** A clock that only moves when someone sleeps: no real time in these tests. */
function fakeTiming(): Timing & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
}

describe('bulk rotation scheduling', () => {
  const items = (targets: string[]): BulkItem[] =>
    targets.map((target, i) => ({ name: `s${i}`, target }));

  it('runs at most `concurrency` at once and at most `perTarget` per target, and finishes every item in input order', async () => {
    const running = new Map<string, number>();
    let max = 0;
    const maxPerTarget = new Map<string, number>();
    const list = items(['a', 'a', 'a', 'b', 'b', 'c', 'd', 'e', 'a', 'f']);
    const results = await runBulk(list, {
      concurrency: 3,
      perTarget: 1,
      stopOnFailure: false,
      rotate: async (item) => {
        running.set(item.target, (running.get(item.target) ?? 0) + 1);
        maxPerTarget.set(
          item.target,
          Math.max(maxPerTarget.get(item.target) ?? 0, running.get(item.target) ?? 0),
        );
        max = Math.max(
          max,
          [...running.values()].reduce((x, y) => x + y, 0),
        );
        await new Promise((resolve) => setImmediate(resolve));
        running.set(item.target, (running.get(item.target) ?? 1) - 1);
        return { name: item.name, target: item.target, outcome: 'succeeded' };
      },
    });
    expect(max).toBe(3);
    expect(Math.max(...maxPerTarget.values())).toBe(1);
    expect(results.map((r) => r.name)).toEqual(list.map((i) => i.name));
    expect(results.every((r) => r.outcome === 'succeeded')).toBe(true);
  });

  it('--stop-on-failure: nothing starts after a failure, running ones finish, the rest are skipped with the reason', async () => {
    const started: string[] = [];
    const results = await runBulk(items(['a', 'b', 'c', 'd']), {
      concurrency: 1,
      perTarget: 1,
      stopOnFailure: true,
      rotate: async (item): Promise<BulkResult> => {
        started.push(item.name);
        if (item.name === 's1') throw new Error('setSecret refused');
        return { name: item.name, target: item.target, outcome: 'succeeded' };
      },
    });
    expect(started).toEqual(['s0', 's1']);
    expect(results.map((r) => r.outcome)).toEqual(['succeeded', 'failed', 'skipped', 'skipped']);
    expect(results[1]?.message).toBe('Error: setSecret refused');
    expect(results[2]?.message).toMatch(/stop-on-failure/);
  });

  it('refuses limits below 1, which could never start a rotation', async () => {
    for (const limits of [
      { concurrency: 0, perTarget: 1 },
      { concurrency: 2, perTarget: 0 },
    ]) {
      await expect(
        runBulk(items(['a']), {
          ...limits,
          stopOnFailure: false,
          rotate: async (item) => ({ name: item.name, target: item.target, outcome: 'succeeded' }),
        }),
      ).rejects.toThrow(RangeError);
    }
  });

  it('an empty list ends at once', async () => {
    const results = await runBulk([], {
      concurrency: 2,
      perTarget: 1,
      stopOnFailure: false,
      rotate: async () => {
        throw new Error('never');
      },
    });
    expect(results).toEqual([]);
  });

  it("a rotate that throws before returning a promise is that item's failure, and the run goes on", async () => {
    const list = items(['a', 'a', 'b']);
    const results = await runBulk(list, {
      concurrency: 2,
      perTarget: 1,
      stopOnFailure: false,
      rotate: ((item: BulkItem) => {
        if (item.name === 's0') throw new TypeError('bad input');
        return Promise.resolve({ name: item.name, target: item.target, outcome: 'succeeded' });
      }) as (item: BulkItem) => Promise<BulkResult>,
    });
    expect(results.map((r) => [r.name, r.outcome, r.message])).toEqual([
      ['s0', 'failed', 'TypeError: bad input'],
      ['s1', 'succeeded', undefined],
      ['s2', 'succeeded', undefined],
    ]);
  });

  it('a progress printer that throws does not stop the run: every item still ends', async () => {
    const list = items(['a', 'b', 'c']);
    let rotated = 0;
    const results = await runBulk(list, {
      concurrency: 1,
      perTarget: 1,
      stopOnFailure: false,
      rotate: async (item) => {
        rotated++;
        return { name: item.name, target: item.target, outcome: 'succeeded' };
      },
      onEvent: () => {
        throw new Error('EPIPE');
      },
    });
    expect(rotated).toBe(3);
    expect(results.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });
});

describe('bulk rotation failures', () => {
  it('a rotate that throws (at once or later) quoting a value the CLI read: the printed summary does not hold it', async () => {
    const password = randomPassword();
    // What currentValues does with every candidate's AWSCURRENT.
    secretRegistry.registerSecretString(JSON.stringify({ username: 'u', password }));
    try {
      const results = await runBulk(
        [
          { name: 'a', target: 't1' },
          { name: 'b', target: 't2' },
        ],
        {
          concurrency: 2,
          perTarget: 1,
          stopOnFailure: false,
          rotate: ((item: BulkItem) => {
            if (item.name === 'a') throw new Error(`sync ${password}`);
            return Promise.reject(new Error(`async ${encodeURIComponent(password)}`));
          }) as (item: BulkItem) => Promise<BulkResult>,
        },
      );
      expect(results.map((r) => r.outcome)).toEqual(['failed', 'failed']);
      const out = processOutput({ color: false });
      out.json({ results });
      for (const r of results) out.line(`  ✗ ${r.name}: ${r.message ?? ''}`);
      expect(logs.lines.join('\n')).toContain('sync');
      logs.assertNoneContain([password]);
    } finally {
      secretRegistry.clear();
    }
  });
});

describe('RotateSecret pacing', () => {
  it('a token bucket lets a burst through, then one call per 1/rate seconds', async () => {
    const timing = fakeTiming();
    const bucket = new TokenBucket(10, 3, timing);
    for (let i = 0; i < 6; i++) await bucket.take();
    // Three from the burst, then three more each a tenth of a second apart.
    expect(timing.now()).toBe(300);
    expect(timing.slept).toEqual([100, 100, 100]);
  });

  it('retries ThrottlingException with growing, jittered backoff, then succeeds', async () => {
    const timing = fakeTiming();
    let calls = 0;
    const throttled: number[] = [];
    const result = await withThrottlingRetry(
      undefined,
      async () => {
        calls++;
        if (calls <= 3) throw throttling();
        return 'ok';
      },
      { timing, random: () => 0.5, onThrottled: (attempt) => throttled.push(attempt) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(4);
    expect(throttled).toEqual([1, 2, 3]);
    expect(timing.slept).toEqual([100, 200, 400]);
  });

  it('gives up after maxAttempts, and never retries another error', async () => {
    const timing = fakeTiming();
    await expect(
      withThrottlingRetry(undefined, async () => Promise.reject(throttling()), {
        timing,
        maxAttempts: 3,
      }),
    ).rejects.toThrow('Rate exceeded');
    expect(timing.slept).toHaveLength(2);
    let calls = 0;
    await expect(
      withThrottlingRetry(undefined, async () => {
        calls++;
        throw Object.assign(new Error('nope'), { name: 'InvalidRequestException' });
      }),
    ).rejects.toThrow('nope');
    expect(calls).toBe(1);
  });
});
