import type { KindTarget, LoginVerdict } from '../../shared/kinds/CredentialKind.js';
import { checkTls, type ReachResult, reach, type TlsResult } from '../../shared/kinds/network.js';
import { kindNamed } from '../../shared/kinds/registry.js';

export type { ReachResult, TlsResult };

/**
 * What the operator commands need from the network. The default talks to real targets
 * through the kinds' own code (no driver code in the CLI); tests pass fakes (no module
 * mocking).
 */
export interface Prober {
  reach(host: string, port: number, timeoutMs: number): Promise<ReachResult>;
  tls(target: KindTarget, timeoutMs: number): Promise<TlsResult>;
  /**
   * Tries the credential in `secretString` with kind `kind`'s login check, the one its
   * testSecret runs; `env` is the rotation function's environment when known.
   */
  login(
    kind: string,
    secretString: string,
    env: NodeJS.ProcessEnv,
    timeoutMs: number,
  ): Promise<LoginVerdict>;
}

/** The real network, through the kinds' modules. */
export const networkProber: Prober = {
  reach,
  tls: checkTls,
  async login(kind, secretString, env, timeoutMs) {
    const checkLogin = kindNamed(kind)?.checkLogin;
    if (!checkLogin) return { outcome: 'error', detail: `the CLI cannot try ${kind} credentials` };
    // The kind's own timeout bounds the connect; the signal bounds the whole check.
    return checkLogin(secretString, {
      env,
      timeoutMs,
      signal: AbortSignal.timeout(timeoutMs * 3),
    });
  },
};
