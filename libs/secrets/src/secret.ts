import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

const MASK = '[secret]';

/**
 * A secret value that cannot leak by accident: string conversion, JSON.stringify, util.inspect and
 * console.log all print `[secret]`. Only `reveal()` returns the string, so every use of the value is a
 * visible, greppable call. The value lives in a private field, which inspect does not show either.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. Call it where the value is handed to a client, and nowhere else. */
  reveal(): string {
    return this.#value;
  }

  /** Compares in constant time (for equal lengths), so a comparison does not leak by timing. */
  equals(other: Secret): boolean {
    const a = Buffer.from(this.#value);
    const b = Buffer.from(other.#value);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [Symbol.toPrimitive](): string {
    return MASK;
  }

  [inspect.custom](): string {
    return MASK;
  }
}
