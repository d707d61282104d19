/**
 * Errors the twin returns over the wire. Each carries the `__type` Secrets Manager uses, so
 * the AWS SDK v3 and the CLI raise the same exception classes they raise against AWS.
 */
export class ServiceException extends Error {
  /** The `__type` of the JSON 1.1 error body, e.g. `ResourceNotFoundException`. */
  readonly type: string;
  /** HTTP status: 400 for client errors, 500 for service faults (the SDK retries those). */
  readonly statusCode: number;

  constructor(type: string, message: string, statusCode = 400) {
    super(message);
    this.name = 'ServiceException';
    this.type = type;
    this.statusCode = statusCode;
  }
}

/** `ResourceNotFoundException`: the secret, version or label does not exist. */
export function resourceNotFound(message = "Secrets Manager can't find the specified secret.") {
  return new ServiceException('ResourceNotFoundException', message);
}

/** `InvalidParameterException`: a parameter value is not valid. */
export function invalidParameter(message: string) {
  return new ServiceException('InvalidParameterException', message);
}

/** `InvalidRequestException`: not valid for the current state of the resource. */
export function invalidRequest(message: string) {
  return new ServiceException('InvalidRequestException', message);
}

/** `ResourceExistsException`: a resource with the requested id already exists. */
export function resourceExists(message: string) {
  return new ServiceException('ResourceExistsException', message);
}

/** `LimitExceededException`: a quota (labels per version, tags) would be exceeded. */
export function limitExceeded(message: string) {
  return new ServiceException('LimitExceededException', message);
}

/** `ValidationException`: the request does not satisfy the API model (missing member...). */
export function validation(message: string) {
  return new ServiceException('ValidationException', message);
}

/** `InvalidNextTokenException`: the pagination token is not one we issued. */
export function invalidNextToken() {
  return new ServiceException('InvalidNextTokenException', 'The NextToken value is invalid.');
}

/** `MalformedPolicyDocumentException`: a resource policy that is not a policy. */
export function malformedPolicyDocument(message: string) {
  return new ServiceException('MalformedPolicyDocumentException', message);
}

/** `PublicPolicyException`: BlockPublicPolicy is set and the policy grants broad access. */
export function publicPolicy(message: string) {
  return new ServiceException('PublicPolicyException', message);
}

/**
 * `UnsupportedOperationException`: a Secrets Manager operation the twin does not implement
 * (not a service error: a type no operation models, so no caller mistakes it for one).
 */
export function unsupportedOperation(operation: string) {
  return new ServiceException(
    'UnsupportedOperationException',
    `The local Secrets Manager does not implement ${operation} (docs/local-twin.md, "Differences from AWS").`,
  );
}

/** `InternalServiceError` (HTTP 500): the twin could not do what it acknowledged, e.g. persist. */
export function internalServiceError(message = 'An error occurred on the server side.') {
  return new ServiceException('InternalServiceError', message, 500);
}

/** The message Secrets Manager returns for most operations on a secret scheduled for deletion. */
export const MARKED_FOR_DELETION =
  "You can't perform this operation on the secret because it was marked for deletion.";

/**
 * The message Secrets Manager returns (as `InvalidParameterException`) for a write to a
 * replica secret, as reported from the service in gruntwork-io/cloud-nuke#435.
 */
export const REPLICA_IS_READ_ONLY =
  "Operation not permitted on a replica secret. Call must be made in primary secret's region.";
