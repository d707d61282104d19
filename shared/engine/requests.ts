import { RotationStateError } from '../errors.js';
import {
  AWSCURRENT,
  AWSPREVIOUS,
  type CurrentVersion,
  type SecretDescription,
  type VersionValue,
} from '../secrets/SecretsGateway.js';
import type { StepContext } from './protocol.js';
import type { GenerateRequest, PendingRequest } from './types.js';

/** The version holding `stage` in `description`, if any. */
export function versionWithStage(
  description: SecretDescription,
  stage: string,
): string | undefined {
  for (const [id, stages] of description.versions) if (stages.includes(stage)) return id;
  return undefined;
}

/** Builds strategy requests whose values load lazily, once, by version id. */
export class RequestFactory {
  readonly #ctx: StepContext;
  readonly #description: SecretDescription;
  readonly #loads: Map<string, Promise<VersionValue | undefined>>;
  /** Set when `description` lists only the token: the full labels, read on first need. */
  readonly #describe: (() => Promise<SecretDescription>) | undefined;
  #described: Promise<SecretDescription> | undefined;
  /** Set with `describe`: reads AWSCURRENT by its label, sparing the labels' read. */
  readonly #readCurrent: (() => Promise<CurrentVersion | undefined>) | undefined;
  #currentRead: Promise<VersionValue | undefined> | undefined;

  constructor(
    ctx: StepContext,
    description: SecretDescription,
    loads = new Map<string, Promise<VersionValue | undefined>>(),
    partial: {
      describe?: () => Promise<SecretDescription>;
      readCurrent?: () => Promise<CurrentVersion | undefined>;
    } = {},
  ) {
    this.#ctx = ctx;
    this.#description = description;
    this.#loads = loads;
    this.#describe = partial.describe;
    this.#readCurrent = partial.readCurrent;
  }

  /** Same invocation, other labels; values already read are shared (versions are immutable). */
  withDescription(description: SecretDescription): RequestFactory {
    return new RequestFactory(this.#ctx, description, this.#loads);
  }

  /** The version holding `stage`, from the labels this factory has (or reads once). */
  async #versionWith(stage: string): Promise<string | undefined> {
    const known = versionWithStage(this.#description, stage);
    if (known !== undefined || this.#describe === undefined) return known;
    this.#described ??= this.#describe();
    return versionWithStage(await this.#described, stage);
  }

  #load(versionId: string | undefined): Promise<VersionValue | undefined> {
    if (versionId === undefined) return Promise.resolve(undefined);
    let load = this.#loads.get(versionId);
    if (!load) {
      load = this.#ctx.gateway
        .getVersion(this.#description.arn, versionId, this.#ctx.signal)
        .then((value) => {
          this.#ctx.registry.registerValue(value);
          return value;
        });
      this.#loads.set(versionId, load);
    }
    return load;
  }

  /** The AWSCURRENT value: by its label when this factory may, else by id from the labels. */
  async #currentValue(): Promise<VersionValue | undefined> {
    const readCurrent = this.#readCurrent;
    if (readCurrent && versionWithStage(this.#description, AWSCURRENT) === undefined) {
      this.#currentRead ??= readCurrent().then((read) => {
        if (read === undefined) return undefined;
        this.#ctx.registry.registerValue(read.value);
        if (read.versionId) this.#loads.set(read.versionId, Promise.resolve(read.value));
        return read.value;
      });
      return this.#currentRead;
    }
    return this.#load(await this.#versionWith(AWSCURRENT));
  }

  #current = async (): Promise<string> => {
    const value = await this.#currentValue();
    if (value === undefined) {
      throw new RotationStateError(`Secret ${this.#description.arn} has no AWSCURRENT value`);
    }
    return value.text;
  };

  #previous = async (): Promise<string | undefined> =>
    (await this.#load(await this.#versionWith(AWSPREVIOUS)))?.text;

  /**
   * Whether the current version is a `SecretBinary` (read once, shared with `current()`,
   * which every strategy's `generatePending` reads anyway); `false` when it has no value.
   */
  async currentIsBinary(): Promise<boolean> {
    return (await this.#currentValue())?.binary ?? false;
  }

  #base() {
    const { event, logger, signal, registry } = this.#ctx;
    return {
      secretId: this.#description.arn,
      token: event.ClientRequestToken,
      step: event.Step,
      logger,
      signal,
      current: this.#current,
      previous: this.#previous,
      registerSecret: (value: string) => registry.register(value),
    };
  }

  generate(): GenerateRequest {
    return {
      ...this.#base(),
      generatePassword: async () => {
        const password = await this.#ctx.passwords.generate(this.#ctx.signal);
        this.#ctx.registry.register(password);
        return password;
      },
    };
  }

  /**
   * `fallBackToCurrent`: testSecret may run alone (RotateSecret with RotateImmediately=false)
   * against a pending version the service created without a value; then the current value
   * is what there is to test, which still proves the configuration (reach, permissions).
   */
  pending(options: { fallBackToCurrent?: boolean } = {}): PendingRequest {
    const token = this.#ctx.event.ClientRequestToken;
    return {
      ...this.#base(),
      pending: async () => {
        const value = await this.#load(token);
        if (value !== undefined) return value.text;
        if (options.fallBackToCurrent) {
          this.#ctx.logger.warn(
            'Pending version has no value (a test rotation?): testing the AWSCURRENT value instead',
          );
          return this.#current();
        }
        throw new RotationStateError(
          `Secret version ${token} has no value: run createSecret before ${this.#ctx.event.Step}`,
        );
      },
    };
  }
}
