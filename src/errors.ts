/**
 * Errors of the app's own logic (reports, settings, the Confluence directory, jobs), free of
 * HTTP: each says what kind of thing went wrong and carries the machine `code` and the
 * message the caller is shown. Which status answers which kind is decided in one place,
 * `statusFor` in src/http/errors.ts; code here never picks a status.
 */

/**
 * One entry of an answer's `error.details`: which field of the request holds a bad value, the
 * value, and what is wrong with it (e.g. `{"field": "excludedSpaces", "value": "NOPE",
 * "problem": "no such space"}`), so a form can show each problem next to its input.
 */
export interface ErrorDetail {
  field: string;
  value: string;
  problem: string;
}

/** The kinds of domain error; each has one status (src/http/errors.ts). */
export type DomainErrorKind = "invalid_input" | "upstream_failed" | "unavailable";

/** An error whose code and message are safe to show the caller. */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;

  constructor(
    /** The machine code answered as `error.code`, e.g. "invalid_parameter". */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The caller's input is wrong: a bad parameter or setting, a group or space that does not
 * exist. `details`, when given, lists each bad value (answered as `error.details`).
 */
export class InvalidInput extends DomainError {
  override readonly kind = "invalid_input";

  constructor(
    code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(code, message);
  }
}

/** A dependency (Confluence) answered, but not with what was asked for. */
export class UpstreamFailed extends DomainError {
  override readonly kind = "upstream_failed";
}

/** A dependency (Confluence) cannot answer now; trying again later may work. */
export class Unavailable extends DomainError {
  override readonly kind = "unavailable";
}
