// Network failures as words, for messages a person reads (the admin commands, the agent's enrollment).

const IN_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved now',
  ETIMEDOUT: 'no answer in time',
  UND_ERR_CONNECT_TIMEOUT: 'no answer in time',
  ECONNRESET: 'the connection was cut',
  EHOSTUNREACH: 'the host cannot be reached',
  ENETUNREACH: 'the network cannot be reached',
  CERT_HAS_EXPIRED: "the bot's TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the bot's TLS certificate is self-signed",
  ERR_TLS_CERT_ALTNAME_INVALID: "the bot's TLS certificate is for another name",
};

/** The words for an error code, or the given fallback. */
export function networkErrorInWords(code: string | undefined, fallback: string): string {
  return IN_WORDS[code ?? ''] ?? fallback;
}
