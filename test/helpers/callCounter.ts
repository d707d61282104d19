import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Counts the commands a real SDK client sends, per operation name, by adding a middleware
 * (works over HTTP, unlike aws-sdk-client-mock's call log). The map fills as calls happen.
 */
export function countSecretsManagerCalls(client: SecretsManagerClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'rotatorCallCounter' },
  );
  return counts;
}
