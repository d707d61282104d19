/**
 * Switches off ioredis's debug output before ioredis loads. With `DEBUG=ioredis:*` (or
 * `DEBUG=*`), the usual first step when a connection misbehaves, ioredis writes every command
 * with its arguments to stderr (`write command[...] -> AUTH([ 'app', '<password>' ])`, ACL
 * SETUSER's `#<sha256>` hashes, ACL GETUSER's replies): past the redacting logger, so into
 * CloudWatch or the operator's terminal unscrubbed. The `debug` package reads `DEBUG` once,
 * when ioredis first loads it, so this module must be imported before `ioredis`
 * (`connection.ts` does, as its first import); every other namespace stays as it was set.
 */
const namespaces = process.env.DEBUG?.trim();
if (namespaces) process.env.DEBUG = `${namespaces},-ioredis:*`;
