import { isIP } from 'node:net';

/** Check rules of the structured identifiers (docs/guard.md lists each with its source). */

/** Luhn (ISO/IEC 7812-1) over the digits of `s`. */
export function luhnValid(s: string): boolean {
  const digits = s.replace(/\D/g, '');
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let n = digits.charCodeAt(i) - 48;
    if (double) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Card numbers: 12-19 digits, Luhn-valid, and an issuer prefix that exists (Visa 4, Mastercard 51-55 and
 * 2221-2720, Amex 34/37, Diners 30/36/38/39, Discover/UnionPay 6, JCB 35 and 1800/2131, Maestro 50/56-69).
 */
export function cardValid(digits: string): boolean {
  const n = digits.length;
  if (n < 12 || n > 19 || !luhnValid(digits)) return false;
  if (/^(\d)\1+$/.test(digits)) return false;
  if (/^4/.test(digits)) return n >= 13;
  if (/^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))/.test(digits)) return n === 16;
  if (/^3[47]/.test(digits)) return n === 15;
  if (/^3(0|6|8|9)/.test(digits)) return n >= 14;
  if (/^35/.test(digits)) return n >= 16;
  if (/^(1800|2131)/.test(digits)) return n === 15;
  if (/^(5[06-9]|6)/.test(digits)) return n >= 12;
  return false;
}

/** IBAN lengths by country (ISO 13616 registry, the SEPA countries and the common others). */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28,
  HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29,
  RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22,
  VG: 24, XK: 20,
};

/** ISO 13616: known country and length, then mod-97 of the rearranged number is 1. */
export function ibanValid(raw: string): boolean {
  const s = raw.replace(/[\s-]/g, '').toUpperCase();
  const len = IBAN_LENGTHS[s.slice(0, 2)];
  if (!len || s.length !== len || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const v = code >= 65 ? String(code - 55) : ch;
    for (const d of v) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

/**
 * US Social Security numbers (SSA rules since 2011 randomisation): area not 000, 666 or 900-999; group not
 * 00; serial not 0000; and not the numbers SSA voided after they were published (078-05-1120, 219-09-9999).
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  const all = `${area}${group}${serial}`;
  return all !== '078051120' && all !== '219099999' && !/^(\d)\1{8}$/.test(all);
}

/**
 * UK National Insurance numbers (HMRC NIM39110): two prefix letters (first not D, F, I, Q, U, V; second not
 * D, F, I, O, Q, U, V; not BG, GB, KN, NK, NT, TN, ZZ), six digits, suffix A-D.
 */
export function ninoValid(s: string): boolean {
  const t = s.replace(/\s/g, '').toUpperCase();
  if (!/^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$/.test(t)) return false;
  return !['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(t.slice(0, 2));
}

const NIF_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';
/** Spanish DNI/NIF (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter): the letter is number mod 23. */
export function esNifValid(s: string): boolean {
  const t = s.replace(/[\s-]/g, '').toUpperCase();
  let m = /^(\d{8})([A-Z])$/.exec(t);
  if (m) return NIF_LETTERS[Number(m[1]) % 23] === m[2];
  m = /^([XYZ])(\d{7})([A-Z])$/.exec(t);
  if (m) return NIF_LETTERS[Number(`${'XYZ'.indexOf(m[1]!)}${m[2]}`) % 23] === m[3];
  return false;
}

export const ipv6Valid = (s: string): boolean => isIP(s) === 6;
