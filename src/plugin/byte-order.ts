/**
 * Sorts by the UTF-8 bytes of a key (what `LC_ALL=C sort` and PHP's glob() give), encoding each key once.
 * Plain string comparison orders by UTF-16 code units, which differs for characters beyond U+FFFF.
 */
export function sortByBytes<T>(items: readonly T[], key: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, bytes: Buffer.from(key(item), 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ item }) => item);
}
