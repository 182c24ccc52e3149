const UNIT_BYTES: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "50M", "1 GiB", "1048576" in bytes (K, M and G count in 1024s); undefined when it is not a size. */
export function byteSize(text: string): number | undefined {
  const match = /^(\d+)\s*([KMG]i?B?)?$/i.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_BYTES[(match[2] ?? '').charAt(0).toUpperCase()];
}
