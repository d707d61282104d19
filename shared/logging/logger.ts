import { Logger } from '@aws-lambda-powertools/logger';
import { redactingReplacer, type SecretRegistry, secretRegistry } from './redaction.js';

/** Options for {@link createRotationLogger}. */
export interface RotationLoggerOptions {
  /** Powertools service name; `POWERTOOLS_SERVICE_NAME` wins when set. */
  serviceName?: string;
  /** Registry of secret values to scrub; the process-wide one by default. */
  registry?: SecretRegistry;
  /**
   * Milliseconds since the current invocation started, or `undefined` between invocations;
   * added to every line as `elapsedMs`.
   */
  elapsedMs?: () => number | undefined;
  /** Log level; `POWERTOOLS_LOG_LEVEL` wins when set. */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' | 'CRITICAL' | 'TRACE';
}

/**
 * A Powertools Logger whose every line is passed through {@link redactingReplacer}: fields
 * with secret-meaning names are masked, and every registered secret value is scrubbed from
 * messages, nested fields, error messages and stacks. Child loggers inherit the replacer.
 */
export function createRotationLogger(options: RotationLoggerOptions = {}): Logger {
  const redact = redactingReplacer(options.registry ?? secretRegistry);
  const elapsedMs = options.elapsedMs;
  return new Logger({
    serviceName: options.serviceName ?? 'rotator',
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    jsonReplacerFn: (key, value) => {
      // The root object is the whole line: the one place to add a per-line computed field.
      if (key === '' && elapsedMs && value !== null && typeof value === 'object') {
        const elapsed = elapsedMs();
        if (elapsed !== undefined) return { ...(value as object), elapsedMs: elapsed };
      }
      return redact(key, value);
    },
  });
}
