/** The SDK's one error type (docs/api.md, "The client SDK's own codes"). */

/** A typed error from the database (or from the SDK itself: every region unreachable, held or of another cluster). */
export class TernClientError extends Error {
  override readonly name = 'TernClientError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly retryable: boolean,
    readonly region: string | null,
    readonly field?: string,
    readonly home?: string,
    /** For QUORUM_TIMEOUT: whether the write may still commit. */
    readonly mayHaveCommitted?: boolean,
  ) {
    super(message);
  }
}
