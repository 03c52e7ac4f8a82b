/** Errors raised by idgen-client (server errors other than the ones below pass through as the
 * Redis client's own error objects). */

/** Base class of every error this package raises. */
export class IdgenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The generator can no longer prove that it holds its worker ID: it issues nothing.
 *
 * `final` is true when the lease is gone for good (the server answered `LEASELOST`, or the
 * generator was closed): acquire a new `LeasedSnowflake`. It is false when the local deadline
 * passed without a successful renewal (Redis unreachable): the renewal timer keeps trying, and
 * issuing resumes if a renewal succeeds while the server still holds the lease.
 */
export class LeaseLost extends IdgenError {
  readonly final: boolean;
  constructor(message: string, final: boolean) {
    super(message);
    this.final = final;
  }
}

/** A refusal that names how long to wait (`retryAfterMs`, null if the text had none). */
export class RetryAfterError extends IdgenError {
  readonly retryAfterMs: number | null;
  constructor(message: string, retryAfterMs: number | null = null) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

/** `WORKER.ACQUIRE` found no free worker ID (`POOLFULL`). */
export class PoolFull extends RetryAfterError {}

/** `WORKER.ACQUIRE` refused while the pool resumes after a load or a promotion. */
export class PoolResuming extends RetryAfterError {}

/** `WORKER.ACQUIRE` refused by the server's reservation fence (`NOREPLICAS`); `retryAfterMs`
 * is null (the server cannot know when the replicas are back). */
export class NoReplicas extends RetryAfterError {}

/** Issuing would run further ahead of the clock (or of the lease) than allowed; retry later. */
export class ClockAhead extends RetryAfterError {}

/** A reply that does not have the shape the wire contract gives it (or an integer that reached
 * JavaScript as an inexact double). */
export class ProtocolError extends IdgenError {}

/** The first `N ms` in an error text, or null. */
export function retryAfterMs(message: string): number | null {
  const m = /(\d+)\s*ms/.exec(message);
  return m ? Number(m[1]) : null;
}
