/**
 * The shapes of the Confluence identifiers this app sends back to Confluence in a REST path
 * or query. A space key is letters and digits (personal spaces: `~` and the owner's id); a
 * group id is a UUID. Characters outside these sets never name a real space or group, and in
 * a URL path they are re-encoded on the way out (so the request's signature no longer
 * matches): they are refused at the door, as a 400, not sent to Confluence.
 * https://support.atlassian.com/confluence-cloud/docs/create-a-space/ (space keys)
 */
export const SPACE_KEY = /^~?[A-Za-z0-9][A-Za-z0-9_:.-]{0,254}$/;
export const GROUP_ID = /^[A-Za-z0-9][A-Za-z0-9_:.-]{0,199}$/;

export const SPACE_KEY_RULE = "must be a space key (letters, digits; ~ for a personal space)";
export const GROUP_ID_RULE = "must be a group id (letters, digits, - _ . :)";
