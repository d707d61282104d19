import { randomBytes } from 'node:crypto';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

// The example strategy's only "target" is the secret itself: a credential works when it is
// well-formed JSON with a non-empty password.
describeStrategyConformance('example-password', {
  createStrategy: () => new ExampleStrategy(),
  seed: async () => JSON.stringify({ username: 'demo', password: randomBytes(16).toString('hex') }),
  works: async (value) => {
    const parsed = JSON.parse(value) as { password?: unknown };
    return typeof parsed.password === 'string' && parsed.password.length > 0;
  },
  corrupt: (value) => JSON.stringify({ ...(JSON.parse(value) as object), password: '' }),
});
