import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ServerRequirements, serverSupport } from '../helpers/servers/support.js';

const PRESENT: ServerRequirements = {
  name: 'node',
  binaries: [process.execPath],
  install: 'nodejs',
};
const ABSENT: ServerRequirements = {
  name: 'nothing',
  binaries: [process.execPath, '/nonexistent/bin/nothing-server'],
  install: 'nothing-server',
};

describe('serverSupport (every test server starter)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is available when every binary exists', () => {
    vi.stubEnv('CI', 'true');
    expect(serverSupport(PRESENT)).toEqual({ available: true, reason: '' });
  });

  it('outside CI, skips with a reason naming the missing binary and the package', () => {
    vi.stubEnv('CI', '');
    expect(serverSupport(ABSENT)).toEqual({
      available: false,
      reason: 'nothing binaries missing (/nonexistent/bin/nothing-server): install nothing-server',
    });
  });

  it('under CI=true, fails instead of skipping', () => {
    vi.stubEnv('CI', 'true');
    expect(() => serverSupport(ABSENT)).toThrow(
      /Cannot start the nothing test server under CI=true: .*install nothing-server/,
    );
  });
});
