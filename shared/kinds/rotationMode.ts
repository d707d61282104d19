import { ConfigurationError } from '../errors.js';

/** The two rotation modes of AWS's database functions, shared by every kind with users. */
export type RotationMode = 'single-user' | 'alternating-users';

const MODES: readonly RotationMode[] = ['single-user', 'alternating-users'];

/** Reads `ROTATION_MODE` (required: a deployment must say which mode it is). */
export function rotationModeFromEnv(env: NodeJS.ProcessEnv = process.env): RotationMode {
  const raw = env.ROTATION_MODE?.trim().toLowerCase();
  if (raw === undefined || raw === '') {
    throw new ConfigurationError('ROTATION_MODE', `is required: one of ${MODES.join(', ')}`);
  }
  if (!(MODES as readonly string[]).includes(raw)) {
    throw new ConfigurationError('ROTATION_MODE', `must be one of ${MODES.join(', ')}`);
  }
  return raw as RotationMode;
}
