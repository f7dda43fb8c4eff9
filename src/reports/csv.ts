/**
 * Spreadsheet formula injection: a cell starting with = + - @ (or tab / carriage return) is
 * run as a formula by Excel and others; a leading apostrophe makes it text.
 * https://owasp.org/www-community/attacks/CSV_Injection
 */
export function neutraliseCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
