import { createHash } from 'node:crypto';

/** A fixed namespace so our ids never collide with other UUIDv5 users of the same names. */
const NAMESPACE = Buffer.from('5d0b4b4e7a1c4f4e9a3b2f6c1e8d7a90', 'hex');

/**
 * A name-based UUID (RFC 9562 version 5: SHA-1 over namespace + name). GCP accepts only UUIDs as `requestId`,
 * and the same inputs give the same id, so a retried activity re-sends the request GCP already deduplicates.
 */
export function deterministicUuid(...parts: readonly string[]): string {
  const hash = createHash('sha1').update(NAMESPACE).update(parts.join('\u0000')).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
