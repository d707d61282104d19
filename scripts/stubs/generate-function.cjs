'use strict';
// Stands in for generate-function (and is-property, 13 KB) in the function bundles. mysql2
// compiles row parsers with it (`new Function`) unless the connection sets `disableEval`;
// our connector does, so mysql2 uses its static parsers and never calls this.
// Measured and documented in docs/deploy.md#bundle-size.
module.exports = function generateFunction() {
  throw new Error("mysql2's compiled parsers are not bundled: connect with disableEval: true");
};
