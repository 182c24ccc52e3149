// Parsers speak in tokens ("Unexpected token RBrace found.", "Parse Error : syntax error, unexpected ';',
// expecting ']'"); a plugin author needs a sentence about the character at the position the diagnostic shows.

const TOKENS: Record<string, string> = {
  LBrace: '"{"',
  RBrace: '"}"',
  LBracket: '"["',
  RBracket: '"]"',
  Comma: 'a comma',
  Colon: 'a colon',
  String: 'a string',
  Number: 'a number',
  Boolean: 'true or false',
  Null: 'null',
  EOF: 'the end of the file',
};

/** A JSON parser's complaint (momoa's wording), as a sentence. */
export function jsonSyntaxSentence(message: string): string {
  const unexpected = /Unexpected token (\w+) found/i.exec(message);
  if (unexpected) {
    const token = unexpected[1];
    const what = TOKENS[token] ?? `"${token}"`;
    if (token === 'RBrace' || token === 'RBracket')
      return `invalid JSON: ${what} where a value was expected (a comma before it? JSON allows no trailing comma)`;
    if (token === 'Comma')
      return 'invalid JSON: a comma where a value was expected (two commas in a row, or one before the first item?)';
    if (token === 'EOF') return 'invalid JSON: the file ends too early (a missing "}" or "]"?)';
    return `invalid JSON: ${what} is not expected here (a missing comma or colon before it?)`;
  }
  if (/Unexpected end of input|Unexpected end/i.test(message))
    return 'invalid JSON: the file ends too early (a missing "}" or "]"?)';
  if (/Unexpected character/i.test(message))
    return `invalid JSON: ${message.replace(/\.$/, '').replace(/^Unexpected character/i, 'a character JSON does not allow,')} (comments, single quotes and unquoted keys are not JSON)`;
  return `invalid JSON: ${message.replace(/\.$/, '')}`;
}

/** php-parser's complaint, as a sentence. */
export function phpSyntaxSentence(message: string): string {
  const text = message
    .replace(/^Parse Error\s*:\s*/i, '')
    .replace(/^syntax error,?\s*/i, '')
    .replace(/ on line \d+$/, '');
  const match = /^unexpected (.+?)(?:, expecting (.+))?$/.exec(text);
  if (!match) return `PHP syntax error: ${text}`;
  const found = match[1] === 'EOF' || match[1] === 'end of file' ? 'the file ends' : `${match[1]} is not expected here`;
  return `PHP syntax error: ${found}${match[2] ? ` (PHP expected ${match[2]})` : ''}`;
}
