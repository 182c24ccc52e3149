/**
 * Text from hosts and operators, made safe to print on a terminal or in Markdown: control characters (ESC,
 * CR, NUL, ...) become visible \u escapes, so a name or a log line can never move the cursor or rewrite a line.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
