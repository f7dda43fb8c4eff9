/**
 * The one rule for identifiers and searches that come from outside (account ids, space keys,
 * content ids, group ids, search text): no C0 or C1 control character (NUL included: PostgreSQL
 * text cannot hold it) or DEL, and no lone UTF-16 surrogate (PostgreSQL's JSON input refuses
 * it). Confluence's own identifiers never hold such characters; free text (titles) is repaired
 * instead, where it is read.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const CLEAN_TEXT_RULE =
  "must not contain control characters (U+0000-U+001F, U+007F-U+009F) or lone surrogates";

export function isCleanText(value: string): boolean {
  return value.isWellFormed() && !CONTROL.test(value);
}

/** Longest account id accepted anywhere (Atlassian's are under 60 characters). */
export const MAX_ACCOUNT_ID = 128;
