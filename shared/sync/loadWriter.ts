import type { TargetWriter } from './TargetWriter.js';

/** Gives the target writer, loading its module (and the SDK clients) on first call. */
export type TargetWriterLoader = () => Promise<TargetWriter>;

/**
 * A {@link TargetWriterLoader} for the environment's endpoints. The path of the dynamic
 * import is what scripts/build.mjs recognises to load `sync.js` instead of bundling it.
 */
export function lazyTargetWriter(env: NodeJS.ProcessEnv): TargetWriterLoader {
  let writer: Promise<TargetWriter> | undefined;
  return () => {
    writer ??= import('./awsTargets.js').then((m) => m.createTargetWriter(env));
    return writer;
  };
}
