/**
 * `rotator/consumer`: the application side of rotation. Database pools that follow a
 * rotated Secrets Manager secret, the API-key verifier, and the reader of envelope-encrypted
 * sync targets in S3. See docs/consumer.md and docs/sync.md.
 */
export {
  type ApiKeyCheck,
  type ApiKeyStage,
  ApiKeyVerifier,
  ApiKeyVerifierError,
  type ApiKeyVerifierOptions,
} from './ApiKeyVerifier.js';
export { EnvelopeError, type ReadEnvelopeOptions, readEnvelope } from './envelope.js';
export { CredentialsUnavailableError, DatabaseLoginError } from './errors.js';
export {
  type MysqlPoolConfig,
  type MysqlPoolOptions,
  mysqlDriver,
  RotatingMysqlPool,
} from './mysql.js';
export { type PgPoolConfig, type PgPoolOptions, pgDriver, RotatingPgPool } from './pg.js';
export {
  DEFAULT_LOGIN_RETRY,
  type Lease,
  type PoolDriver,
  RotatingPool,
  type RotatingPoolOptions,
  type RotatingPoolStats,
} from './RotatingPool.js';
export {
  type ConsumerLogger,
  type CredentialSnapshot,
  type CredentialStage,
  SecretCredentials,
  type SecretCredentialsOptions,
  silentLogger,
} from './SecretCredentials.js';
