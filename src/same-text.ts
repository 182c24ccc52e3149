import { timingSafeEqual } from 'node:crypto';

/** Whether two secrets are equal, compared in constant time (a wrong guess says nothing of how close it was). */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
