'use strict';
// Stub for the AWS SDK credential providers a Lambda function never reaches: SSO, shared
// config/credentials files (ini), credential_process and web identity token files. Lambda
// gives a function its execution role's credentials in environment variables, the first
// link of the SDK's default chain, so the chain stops there. Each stub answers as a provider
// with nothing to offer (CredentialsProviderError, tryNextLink), so the chain moves on
// exactly as it would on a machine without those files. Saves about 75 KB minified per
// bundle (the SSO, SSO-OIDC and STS clients they load): docs/deploy.md#bundle-size.
function nothingHere(source) {
  return () => () => {
    const error = new Error(`${source} credentials are not bundled in a rotation function`);
    error.name = 'CredentialsProviderError';
    error.tryNextLink = true;
    return Promise.reject(error);
  };
}
exports.fromSSO = nothingHere('SSO');
exports.fromIni = nothingHere('Shared config file');
exports.fromProcess = nothingHere('credential_process');
exports.fromTokenFile = nothingHere('Web identity token file');
