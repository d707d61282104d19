import type { Prober } from '../../cli/lib/probe.js';

/** A {@link Prober} for which every target times out: doctor's database checks find nothing. */
export const unreachableProber: Prober = {
  reach: async () => ({ ok: false, ms: 1, detail: 'ETIMEDOUT' }),
  tls: async () => ({ supported: false, verified: false }),
  login: async () => ({ outcome: 'unreachable' }),
};
