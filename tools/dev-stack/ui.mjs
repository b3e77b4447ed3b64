// Console helpers for the supervisor's own lines. Colour only on a terminal, and never when NO_COLOR is set
// (https://no-color.org), so CI logs and piped output stay plain text.
const colour = process.stdout.isTTY && !process.env.NO_COLOR;

export const paint = (code, text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);

// Distinct colours per service so interleaved logs stay readable.
export const PALETTE = ['36', '35', '33', '32', '34', '91', '96'];

export const say = (msg) => console.log(`${paint('1;36', '[keelson]')} ${msg}`);
export const warn = (msg) => console.error(`${paint('1;33', '[keelson]')} ${msg}`);

/** An error whose message is meant for the user as is: main prints it without a stack trace. */
export class StackError extends Error {}
