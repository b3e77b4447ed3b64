/**
 * Whether arrays and objects in JSON `text` nest deeper than `limit`, stopping as soon as they do (so a
 * megabyte of `[` costs one pass and no parse). Brackets inside strings do not count. Shared by the gateway's
 * body parser and the stateless function, which has no NestJS.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
