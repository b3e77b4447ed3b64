import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Keys made through the API read `ks_{keyId}.{secret}`: the id finds the record in one lookup, the secret
 * (32 random bytes) is checked against a salted SHA-256. A slow password hash (scrypt, argon2) protects
 * guessable passwords; a 256-bit random secret cannot be guessed, so a fast hash loses nothing and keeps
 * authentication off the request's critical path. The salt stops one precomputed table from matching every
 * stored hash, and makes equal secrets (there are none) hash differently.
 */
const TOKEN = /^ks_(key[0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export interface KeyHash {
  salt: string;
  hash: string;
}

export function newKeyId(): string {
  return `key${randomBytes(8).toString('hex')}`;
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export const formatKey = (keyId: string, secret: string): string => `ks_${keyId}.${secret}`;

/** The id and secret of a key in the API format, or undefined for anything else (file keys, tokens). */
export function parseKey(presented: string): { keyId: string; secret: string } | undefined {
  const match = TOKEN.exec(presented);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

export function hashSecret(secret: string, salt = randomBytes(16).toString('hex')): KeyHash {
  return { salt, hash: createHash('sha256').update(salt).update(secret).digest('hex') };
}

export function secretMatches(secret: string, stored: KeyHash): boolean {
  const presented = Buffer.from(hashSecret(secret, stored.salt).hash, 'hex');
  const expected = Buffer.from(stored.hash, 'hex');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
