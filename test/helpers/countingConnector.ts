import type { Connector } from '../../shared/strategies/database/driver.js';
import { LoginRefusedError } from '../../shared/strategies/database/errors.js';

/** Database work of one step (and its Secrets Manager calls), counted at the connector. */
export interface StepTally {
  connects: number;
  refused: number;
  statements: number;
  secretsManagerCalls: number;
  ms: number;
  /** Time spent in connects (refused ones included) and in statements. */
  connectMs: number;
  statementMs: number;
}

/** A tally at zero. */
export const emptyTally = (): StepTally => ({
  connects: 0,
  refused: 0,
  statements: 0,
  secretsManagerCalls: 0,
  ms: 0,
  connectMs: 0,
  statementMs: 0,
});

/** Wraps a connector so every connect, refused login and statement is counted in `tally()`. */
export function countingConnector(inner: Connector, tally: () => StepTally): Connector {
  return async (target, options) => {
    tally().connects += 1;
    const start = performance.now();
    try {
      const session = await inner(target, options);
      tally().connectMs += performance.now() - start;
      /** One statement (a query or a ping), counted and timed. */
      const statement = async <T>(work: () => Promise<T>): Promise<T> => {
        tally().statements += 1;
        const begin = performance.now();
        try {
          return await work();
        } finally {
          tally().statementMs += performance.now() - begin;
        }
      };
      const ping = session.ping?.bind(session);
      return {
        query: (sql, params) => statement(() => session.query(sql, params)),
        ...(ping ? { ping: () => statement(ping) } : {}),
        close: () => session.close(),
        unref: () => session.unref?.(),
        ref: () => session.ref?.(),
      };
    } catch (error) {
      tally().connectMs += performance.now() - start;
      if (error instanceof LoginRefusedError) tally().refused += 1;
      throw error;
    }
  };
}
