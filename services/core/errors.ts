// One error class per kind of failure; the stage runner decides ack, nak or dead-letter from the class.

/** A payload that can never be decoded (wrong wire format, truncated protobuf). Dead-lettered. */
export class DecodeError extends Error {
  override name = 'DecodeError';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

/** Input that decodes but breaks a rule of the contract. Dead-lettered with the reason. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

/** A failure that may pass on a later try (NATS or Postgres away, timeouts). Retried with backoff. */
export class TransientError extends Error {
  override name = 'TransientError';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

/** A bad setting. Fatal at start-up, with a message naming the setting. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

/** True for errors that no retry can fix: the message is dead-lettered instead of redelivered. */
export function isPoison(err: unknown): boolean {
  return err instanceof DecodeError || err instanceof ValidationError;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
