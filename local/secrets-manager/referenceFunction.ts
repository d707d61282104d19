import {
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { RotationEvent } from '../../shared/engine/types.js';
import type { RotationFunction } from './rotation.js';

/** The rotation function refuses the event or the secret's state. */
export class ReferenceRotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReferenceRotationError';
  }
}

/** Parses a JSON value; the error names the version, never quotes the text (V8's does). */
function parseObject(text: string, which: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ReferenceRotationError(`The ${which} value is not valid JSON`);
  }
}

/**
 * A rotation function with the flow of AWS's generic rotation template (four steps, the
 * DescribeSecret preamble, AWSPENDING probe, label move in finishSecret) for a JSON secret
 * with a `password` field and no external target. It serves `npm start` when the project's
 * own handlers are unavailable, and exercises the twin the way AWS's functions would.
 */
export function referenceRotationFunction(client: SecretsManagerClient): RotationFunction {
  return async (event: RotationEvent) => {
    const { Step: step, SecretId: arn, ClientRequestToken: token } = event;
    const described = await client.send(new DescribeSecretCommand({ SecretId: arn }));
    if (described.RotationEnabled === false)
      throw new ReferenceRotationError('Rotation is not enabled for the secret');
    const stages = described.VersionIdsToStages?.[token];
    if (!stages)
      throw new ReferenceRotationError('The token has no stage for rotation of the secret');
    if (stages.includes('AWSCURRENT')) return;
    if (!stages.includes('AWSPENDING'))
      throw new ReferenceRotationError('The token is not set as AWSPENDING');
    switch (step) {
      case 'createSecret': {
        const current = await client.send(
          new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }),
        );
        try {
          await client.send(
            new GetSecretValueCommand({
              SecretId: arn,
              VersionId: token,
              VersionStage: 'AWSPENDING',
            }),
          );
          return;
        } catch (error) {
          if (!(error instanceof ResourceNotFoundException)) throw error;
        }
        const { RandomPassword } = await client.send(
          new GetRandomPasswordCommand({ ExcludeCharacters: '/@"\'\\' }),
        );
        const value = {
          ...parseObject(current.SecretString ?? '{}', 'AWSCURRENT'),
          password: RandomPassword,
        };
        await client.send(
          new PutSecretValueCommand({
            SecretId: arn,
            ClientRequestToken: token,
            SecretString: JSON.stringify(value),
            VersionStages: ['AWSPENDING'],
            ...(event.RotationToken ? { RotationToken: event.RotationToken } : {}),
          }),
        );
        return;
      }
      case 'setSecret':
        return;
      case 'testSecret': {
        const pending = await client.send(
          new GetSecretValueCommand({
            SecretId: arn,
            VersionId: token,
            VersionStage: 'AWSPENDING',
          }),
        );
        parseObject(pending.SecretString ?? '', 'AWSPENDING');
        return;
      }
      case 'finishSecret': {
        const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, s]) =>
          s.includes('AWSCURRENT'),
        )?.[0];
        await client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: arn,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: token,
            ...(current ? { RemoveFromVersionId: current } : {}),
          }),
        );
        return;
      }
      default:
        throw new ReferenceRotationError(`Unknown step ${String(step)}`);
    }
  };
}
