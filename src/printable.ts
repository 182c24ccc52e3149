// One rule for text from hosts, GitHub and operators shown on a terminal or in the console: C0 and C1 control
// characters (ESC, CSI, CR, NUL, ...) and the bidirectional controls (RLO, LRI, ...) become visible \u escapes,
// so a name or a log line can never move the cursor, rewrite a line, or display as another text. Tab and
// newline stay.
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escaped);
}

/** The same characters escaped inside JSON text (still valid JSON, and the same value once parsed). */
export function printableJson(json: string): string {
  return json.replace(UNPRINTABLE, escaped);
}

function escaped(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
