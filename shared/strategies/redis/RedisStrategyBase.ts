import type { GenerateRequest, PendingRequest } from '../../engine/types.js';
import { verifyRedisLogin } from './login.js';
import { probeOptionsFor, REDIS_PASSWORD_DEFAULTS, type RedisStrategyOptions } from './options.js';
import { parseRedisSecret, type RedisSecret, withLogin } from './secret.js';

/**
 * What both Redis strategies share: their options, secret parsing, the next value's shape
 * and `verify` (the login check the CLI runs too). Subclasses add `apply` and, for
 * single-user, `afterPromotion`.
 */
export abstract class RedisStrategyBase {
  readonly passwordDefaults = REDIS_PASSWORD_DEFAULTS;
  protected readonly options: RedisStrategyOptions;
  readonly #requireMasterArn: boolean;

  protected constructor(options: RedisStrategyOptions, requireMasterArn: boolean) {
    this.options = options;
    this.#requireMasterArn = requireMasterArn;
  }

  /** Parses one version's value with this function's rules; `which` names it in errors. */
  protected parse(secretString: string, which: string): RedisSecret {
    return parseRedisSecret(
      secretString,
      { defaultSslMode: this.options.defaultSslMode, requireMasterArn: this.#requireMasterArn },
      which,
    );
  }

  /** The current value with `username(current)` and a new password; every other field kept. */
  protected async nextValue(
    request: GenerateRequest,
    username: (current: RedisSecret) => string,
  ): Promise<string> {
    const current = this.parse(await request.current(), 'AWSCURRENT');
    return withLogin(current, {
      username: username(current),
      password: await request.generatePassword(),
    });
  }

  /** `testSecret`: logs in with the pending value (`AUTH`, `PING`), as the CLI does. */
  async verify(request: PendingRequest): Promise<void> {
    await verifyRedisLogin(
      await request.pending(),
      probeOptionsFor(this.options, request.signal, 'AWSPENDING'),
    );
  }
}
