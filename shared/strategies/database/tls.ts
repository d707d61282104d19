/** Moved to shared/kinds/tls.ts (every networked kind uses it); kept for imports in flight. */
export * from '../../kinds/tls.js';
