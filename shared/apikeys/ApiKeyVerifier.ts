/** Moved to consumer/ApiKeyVerifier.ts (`rotator/consumer`, issue 12); kept for imports in flight. */
export * from '../../consumer/ApiKeyVerifier.js';
