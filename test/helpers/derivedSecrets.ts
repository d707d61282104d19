import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';

/** Runs SQL as a test server's admin. */
type AdminQuery = <Row>(sql: string, params?: unknown[]) => Promise<Row[]>;

/** The SCRAM verifier PostgreSQL stores for the secret's user: as secret as the password. */
export function postgresDerivedSecrets(query: AdminQuery) {
  return async (secretString: string): Promise<string[]> => {
    const { username } = JSON.parse(secretString) as { username: string };
    const rows = await query<{ rolpassword: string }>(
      'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
      [username],
    );
    return rows.map((row) => row.rolpassword);
  };
}

/** The native hash of the secret's password, and what MariaDB stores for its user. */
export function mariadbDerivedSecrets(query: AdminQuery) {
  return async (secretString: string): Promise<string[]> => {
    const { username, password } = JSON.parse(secretString) as {
      username: string;
      password: string;
    };
    const rows = await query<{ hash: string }>(
      'SELECT authentication_string AS hash FROM mysql.user WHERE user = ?',
      [username],
    );
    return [mysqlNativePasswordHash(password), ...rows.map((row) => row.hash)];
  };
}
