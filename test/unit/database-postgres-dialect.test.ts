import { describe, expect, it } from 'vitest';
import type { DatabaseSession } from '../../shared/strategies/database/driver.js';
import {
  type PgPrivilege,
  PostgresDialect,
} from '../../shared/strategies/postgres/PostgresDialect.js';
import { randomPassword } from '../helpers/credentials.js';

/**
 * A session that records statements and answers from a script keyed by SQL prefix. The
 * search_path pin goes to `pins`, so `statements` shows the work itself.
 */
function recordingSession(answers: Record<string, unknown[]> = {}, failOn?: RegExp) {
  const statements: string[] = [];
  const pins: string[] = [];
  const session: DatabaseSession = {
    async query<Row>(sql: string): Promise<Row[]> {
      if (sql.startsWith('SET search_path')) {
        pins.push(sql);
        return [];
      }
      statements.push(sql);
      if (failOn?.test(sql)) throw Object.assign(new Error('permission denied'), { code: '42501' });
      for (const [prefix, rows] of Object.entries(answers))
        if (sql.startsWith(prefix)) return rows as Row[];
      return [];
    },
    close: async () => {},
  };
  return { session, statements, pins };
}

const pair = (current: string, pending: string) => ({
  current,
  pending,
  base: current.endsWith('_clone') ? pending : current,
  clone: current.endsWith('_clone') ? current : pending,
});

describe('PostgresDialect repairs', () => {
  const dialect = new PostgresDialect(async () => {
    throw new Error('not used');
  });

  it('hands objects the clone created back to the base user when the base user takes over', async () => {
    const { session, statements } = recordingSession();
    const missing: PgPrivilege[] = [
      { key: 'OWNER RIGHTS ON TABLE "s"."a"', kind: 'owner', owner: 'app_clone' },
      { key: 'OWNER RIGHTS ON TABLE "s"."b"', kind: 'owner', owner: 'app_clone' },
    ];
    expect(await dialect.repair(session, missing, pair('app_clone', 'app'))).toEqual([]);
    // Once for all objects: REASSIGN covers every object the clone owns.
    expect(statements).toEqual([
      'GRANT "app" TO "app_clone"',
      'REASSIGN OWNED BY "app_clone" TO "app"',
    ]);
  });

  it('gives the clone owner rights through membership, never ownership', async () => {
    const { session, statements } = recordingSession();
    await dialect.repair(
      session,
      [{ key: 'OWNER RIGHTS ON SCHEMA "s"', kind: 'owner', owner: 'app' }],
      pair('app', 'app_clone'),
    );
    expect(statements).toEqual(['GRANT "app" TO "app_clone"']);
  });

  it('pins search_path to pg_catalog once per session before reading or granting', async () => {
    const { session, pins } = recordingSession();
    await dialect.privileges(session, ['app', 'app_clone'], pair('app', 'app_clone'));
    await dialect.repair(
      session,
      [{ key: 'OWNER RIGHTS ON SCHEMA "s"', kind: 'owner', owner: 'app' }],
      pair('app', 'app_clone'),
    );
    expect(pins).toEqual(['SET search_path TO pg_catalog, pg_temp']);
    // An early read pins in the same round trip (one statement list), then never again.
    const other = recordingSession();
    const finish = dialect.beginPrivilegeRead(other.session, ['app'], pair('app', 'app_clone'));
    await finish(Promise.resolve(recordingSession().session));
    expect(other.pins).toHaveLength(1);
    expect(other.pins[0]).toMatch(/^SET search_path TO pg_catalog, pg_temp; WITH /);
    expect(other.pins[0]).toContain(`ARRAY['app']::text[]`);
    // A name with \$' or \$& (replacement patterns of String.replace) stays one literal (found in review).
    const odd = recordingSession();
    const name = "a$'b$&c$`d";
    await dialect.beginPrivilegeRead(
      odd.session,
      [name],
      pair(name, `${name}_clone`),
    )(Promise.resolve(recordingSession().session));
    expect(odd.pins[0]).toContain(`unnest(ARRAY['a$''b$&c$\`d']::text[]) AS u(name)`);
    expect(odd.pins[0]).toContain(`ARRAY['a$''b$&c$\`d', 'a$''b$&c$\`d_clone']::text[]`);
    await dialect.privileges(other.session, ['app'], pair('app', 'app_clone'));
    expect(other.pins).toHaveLength(1);
    expect(other.statements).toHaveLength(1);
  });

  it('maps default-privilege grantees: self, the other user of the pair, PUBLIC and other roles', async () => {
    const { session, statements } = recordingSession();
    const base = {
      kind: 'default' as const,
      schema: 's',
      objects: 'TABLES',
      privilege: 'SELECT',
      grantable: false,
    };
    await dialect.repair(
      session,
      [
        { ...base, key: '1', grantee: '<self>' },
        { ...base, key: '2', grantee: '<other user>' },
        { ...base, key: '3', grantee: 'PUBLIC', schema: null },
        { ...base, key: '4', grantee: 'read"ers', grantable: true },
      ],
      pair('app', 'app_clone'),
    );
    expect(statements).toEqual([
      'ALTER DEFAULT PRIVILEGES FOR ROLE "app_clone" IN SCHEMA "s" GRANT SELECT ON TABLES TO "app_clone"',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "app_clone" IN SCHEMA "s" GRANT SELECT ON TABLES TO "app"',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "app_clone" GRANT SELECT ON TABLES TO PUBLIC',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "app_clone" IN SCHEMA "s" GRANT SELECT ON TABLES TO "read""ers" WITH GRANT OPTION',
    ]);
  });

  it('re-quotes list settings element by element and quotes other values as literals', async () => {
    const { session, statements } = recordingSession();
    await dialect.repair(
      session,
      [
        {
          key: '1',
          kind: 'setting',
          database: null,
          name: 'search_path',
          value: '"$user", app, "we""ird"',
        },
        {
          key: '2',
          kind: 'setting',
          database: 'appdb',
          name: 'statement_timeout',
          value: "5s'; DROP ROLE x; --",
        },
        { key: '3', kind: 'setting', database: null, name: 'app.tenant', value: 'acme' },
      ],
      pair('app', 'app_clone'),
    );
    expect(statements).toEqual([
      'ALTER ROLE "app_clone" SET "search_path" TO "$user", "app", "we""ird"',
      `ALTER ROLE "app_clone" IN DATABASE "appdb" SET "statement_timeout" TO '5s''; DROP ROLE x; --'`,
      `ALTER ROLE "app_clone" SET "app"."tenant" TO 'acme'`,
    ]);
  });

  it('reports each privilege it could not grant and carries on with the others', async () => {
    const { session, statements } = recordingSession({}, /CREATEDB/);
    const failures = await dialect.repair(
      session,
      [
        { key: 'ROLE ATTRIBUTE CREATEDB', kind: 'attribute', attribute: 'CREATEDB' },
        { key: 'MEMBER OF "r"', kind: 'membership', role: 'r' },
      ],
      pair('app', 'app_clone'),
    );
    expect(failures.map((f) => f.key)).toEqual(['ROLE ATTRIBUTE CREATEDB']);
    expect(statements).toEqual([
      'ALTER ROLE "app_clone" WITH CREATEDB',
      'GRANT "r" TO "app_clone"',
    ]);
  });

  it('sets passwords as a SCRAM verifier with the server iteration count, registering it', async () => {
    const { session, statements } = recordingSession({
      "SELECT pg_catalog.current_setting('scram_iterations'": [{ iterations: '10000' }],
    });
    const registered: string[] = [];
    const password = randomPassword();
    await dialect.changeOwnPassword(session, {
      username: 'we"ird',
      password,
      register: (v) => registered.push(v),
    });
    expect(statements[1]).toMatch(/^ALTER ROLE "we""ird" PASSWORD 'SCRAM-SHA-256\$10000:[^']+'$/);
    expect(statements.join('\n')).not.toContain(password);
    expect(registered).toHaveLength(1);
    expect(statements[1]).toContain(registered[0]);
  });

  it('uses 4096 iterations where scram_iterations does not exist (PostgreSQL 15)', async () => {
    const { session, statements } = recordingSession({
      "SELECT pg_catalog.current_setting('scram_iterations'": [{ iterations: null }],
    });
    await dialect.setUserPassword(session, {
      username: 'app',
      password: randomPassword(),
      register: () => {},
    });
    expect(statements[1]).toMatch(/^ALTER ROLE "app" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/);
  });
});

describe('PostgresDialect staged password change', () => {
  const change = (registered: string[], password = randomPassword()) => ({
    username: 'app_clone',
    password,
    register: (v: string) => registered.push(v),
  });

  it('sets the verifier with BEGIN and the iteration count in one round trip, and commits only when asked', async () => {
    const dialect = new PostgresDialect();
    const { session, statements, pins } = recordingSession({
      BEGIN: [{ iterations: null }],
    });
    const registered: string[] = [];
    const password = randomPassword();
    const staged = dialect.stagePassword(Promise.resolve(session), change(registered, password));
    expect(await staged.ready).toBe(true);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(
      /^BEGIN; ALTER ROLE "app_clone" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$4096:[^']+'; SELECT pg_catalog\.current_setting\('scram_iterations', true\) AS iterations$/,
    );
    expect(pins).toEqual([]);
    expect(registered).toHaveLength(1);
    expect(statements[0]).toContain(registered[0]);
    expect(statements.join('\n')).not.toContain(password);
    await staged.commit();
    expect(statements.slice(1)).toEqual(['COMMIT']);
  });

  it('sets the password again, in the same transaction, when the server uses another iteration count; later changes assume that count', async () => {
    const dialect = new PostgresDialect();
    const { session, statements } = recordingSession({
      BEGIN: [{ iterations: '10000' }],
      "SELECT pg_catalog.current_setting('scram_iterations'": [{ iterations: '10000' }],
    });
    const registered: string[] = [];
    const staged = dialect.stagePassword(Promise.resolve(session), change(registered));
    expect(await staged.ready).toBe(true);
    expect(statements[0]).toContain('SCRAM-SHA-256$4096:');
    expect(statements.at(-1)).toMatch(
      /^ALTER ROLE "app_clone" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$10000:/,
    );
    expect(statements).not.toContain('COMMIT');
    expect(registered).toHaveLength(2);
    await staged.rollback();
    expect(statements.at(-1)).toBe('ROLLBACK');

    const next = recordingSession({ BEGIN: [{ iterations: '10000' }] });
    const again = dialect.stagePassword(Promise.resolve(next.session), change([]));
    expect(await again.ready).toBe(true);
    expect(next.statements).toHaveLength(1);
    expect(next.statements[0]).toContain('SCRAM-SHA-256$10000:');
  });

  it('a refused change is not ready; rollback undoes the open transaction and commit refuses', async () => {
    const dialect = new PostgresDialect();
    const { session, statements } = recordingSession({}, /^BEGIN/);
    const staged = dialect.stagePassword(Promise.resolve(session), change([]));
    expect(await staged.ready).toBe(false);
    await expect(staged.commit()).rejects.toThrow(/no staged password/);
    expect(statements).not.toContain('COMMIT');
    await staged.rollback();
    expect(statements.at(-1)).toBe('ROLLBACK');
  });

  it('without an admin session nothing is sent and the change is not ready', async () => {
    const dialect = new PostgresDialect();
    const refused = Promise.reject(new Error('admin login refused'));
    const staged = dialect.stagePassword(refused, change([]));
    expect(await staged.ready).toBe(false);
    await staged.rollback();
    await expect(staged.commit()).rejects.toThrow(/no staged password/);
  });
});
