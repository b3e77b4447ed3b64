import type { EntityType } from '@keelson/contracts';
import { cardValid, esNifValid, ibanValid, ipv6Valid, ninoValid, ssnValid } from './checks';
import { GIVEN_NAMES, NOT_NAME_WORDS, ORG_WORDS, SURNAME_ENDING, SURNAME_PREFIX } from './names';

/** A finding in UTF-16 offsets (internal); `toCodePoints` converts for the API. */
export interface Span {
  type: EntityType;
  start: number;
  end: number;
}

/** When two findings overlap, the earlier type in this list wins (then the longer span). */
const PRIORITY: readonly EntityType[] = [
  'PRIVATE_KEY',
  'JWT',
  'API_KEY',
  'PASSWORD',
  'URL_CREDENTIALS',
  'EMAIL_ADDRESS',
  'IBAN_CODE',
  'CREDIT_CARD',
  'US_SSN',
  'UK_NINO',
  'ES_NIF',
  'IP_ADDRESS',
  'DATE_OF_BIRTH',
  'PHONE_NUMBER',
  'STREET_ADDRESS',
  'PERSON',
];
const RANK = new Map(PRIORITY.map((t, i) => [t, i]));

// --- secrets ---

const SECRET_PATTERNS: readonly { type: EntityType; re: RegExp; group?: number; hint?: string }[] = [
  { type: 'PRIVATE_KEY', re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g, hint: '-----BEGIN' },
  { type: 'JWT', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, hint: 'eyJ' },
  // Anthropic before OpenAI: both start with sk-.
  { type: 'API_KEY', re: /\bsk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_-]{20,}/g, hint: 'sk-ant-' },
  { type: 'API_KEY', re: /\bsk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}/g, hint: 'sk-' },
  { type: 'API_KEY', re: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g },
  { type: 'API_KEY', re: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g },
  { type: 'API_KEY', re: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g, hint: 'github_pat_' },
  { type: 'API_KEY', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, hint: 'xox' },
  { type: 'API_KEY', re: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{20,}/g, hint: 'hooks.slack' },
  { type: 'API_KEY', re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { type: 'API_KEY', re: /\bwhsec_[A-Za-z0-9+/=]{20,}/g, hint: 'whsec_' },
  { type: 'API_KEY', re: /\bAIza[0-9A-Za-z_-]{35}\b/g, hint: 'AIza' },
  { type: 'API_KEY', re: /\bya29\.[0-9A-Za-z_-]{20,}/g, hint: 'ya29.' },
  { type: 'API_KEY', re: /\bglpat-[A-Za-z0-9_-]{20,}/g, hint: 'glpat-' },
  { type: 'API_KEY', re: /\bnpm_[A-Za-z0-9]{36}\b/g, hint: 'npm_' },
  { type: 'API_KEY', re: /\bhf_[A-Za-z0-9]{30,}\b/g, hint: 'hf_' },
  { type: 'API_KEY', re: /\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g, hint: 'SG.' },
  // AWS secret keys and other values assigned to a secret-looking name: only the value is the finding.
  {
    type: 'API_KEY',
    re: /\b(?:aws_secret_access_key|secret_access_key|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|client[_-]?secret|secret[_-]?key|bearer)["']?\s*(?:[:=]|=>)?\s*["']?([A-Za-z0-9_\-+/=.]{16,})/gi,
    group: 1,
  },
  { type: 'API_KEY', re: /\bAuthorization:\s*(?:Bearer|Basic|Token)\s+([A-Za-z0-9_\-+/=.~]{12,})/gi, group: 1 },
  { type: 'PASSWORD', re: /\b(?:password|passwd|pwd|passcode|passwort|kennwort|contraseña|mot de passe)\s*(?:is|ist|es|est)?\s*[:=]?\s*["'`]?([^\s"'`,;]{6,64})/giu, group: 1 },
];

/** `scheme://user:password@host`: the `user:password` part. */
const URL_CREDS = /\b[a-z][a-z0-9+.-]{1,20}:\/\/([^\s:@/]{1,128}:[^\s@/]{1,256})@[^\s/]+/gi;

// --- contact, finance, identity ---

const EMAIL = /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]{1,64}@(?:[\p{L}\p{N}-]{1,63}\.)+\p{L}{2,24}(?![\p{L}\p{N}-])/gu;
const CARD = /(?<![\d-])(?:\d[ -]?){11,18}\d(?![\d-])/g;
/** Separators, if any, must group the number the way cards are printed (4-4-4-4, 4-6-5, ...). */
const CARD_GROUPS = /^\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?$|^\d{4}[ -]\d{6}[ -]\d{4,5}$/;

/**
 * The card number in a run of digits and digit groups: the whole run, else the run without the short groups
 * (under four digits) at its edges, so a number beside a card ("item 2 4111 …", "… 1111 2 times") does not
 * hide it. Full four-digit groups are never dropped: "1234 5678 9012 3456" that fails the check is no card,
 * and neither are twelve digits of it.
 */
function cardWithin(run: string): { start: number; end: number } | undefined {
  const groups = [...run.matchAll(/\d+/g)].map((g) => ({ start: g.index, end: g.index + g[0].length }));
  const short = (i: number) => groups[i]!.end - groups[i]!.start < 4;
  let lead = 0;
  while (lead < groups.length - 1 && short(lead)) lead++;
  let trail = 0;
  while (trail < groups.length - 1 - lead && short(groups.length - 1 - trail)) trail++;
  const tries: { start: number; end: number; dropped: number }[] = [];
  for (let i = 0; i <= lead; i++) {
    for (let j = 0; j <= trail; j++) tries.push({ start: groups[i]!.start, end: groups[groups.length - 1 - j]!.end, dropped: i + j });
  }
  tries.sort((x, y) => x.dropped - y.dropped);
  return tries.find(({ start, end }) => {
    const candidate = run.slice(start, end);
    return (!/[ -]/.test(candidate) || CARD_GROUPS.test(candidate)) && cardValid(candidate.replace(/\D/g, ''));
  });
}
const IBAN = /\b[A-Za-z]{2}\d{2}(?:(?:[ -][A-Za-z0-9]{4}){2,7}(?:[ -][A-Za-z0-9]{1,3})?|[A-Za-z0-9]{11,30})\b/g;
const SSN = /(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d-])/g;
const SSN_CONTEXT = /\b(?:ssn|social\s+security|soc\.?\s*sec\.?|taxpayer|tin)\b/i;
const NINO = /\b[A-Za-z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-Da-d]\b/g;
const ES_NIF = /\b(?:\d{8}|[XYZxyz]\d{7})-?[A-Za-z]\b/g;
const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]*\d)(?:\/\d{1,2})?/g;
const IPV6 = /(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}(?:[0-9a-fA-F]{0,4}|(?:\d{1,3}\.){3}\d{1,3})(?![\w:])/g;

/** Phone numbers: an optional country code, then groups of digits; the extension stays with the number. */
const PHONE =
  /(?<![\w+.-])(?:(?:\+|00)\d{1,3}[ .-]?)?(?:\(0\)[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,12}(?:[ .-]\d{1,8}){0,5}(?:\s?(?:x|ext\.?|#)\s?\d{1,5})?(?![\w.-]*\d)/g;
const PHONE_CUE = /(?:phone|tel|telephone|call|calling|mobile|cell|fax|desk|office|whatsapp|sms|text|number|contact|reach|ring|dial|answering|messages?\s+to|registered|hotline|telefon|handy|rufnummer|téléphone|teléfono|móvil)\b[^\n\d]{0,25}$/i;
/** "order number 4532-1234-5678": a number that is an identifier of something else. */
const NOT_PHONE_CUE = /\b(?:order|invoice|tracking|account|reference|ref|case|ticket|customer|policy|serial|model|part|item|booking|confirmation|transaction|licen[cs]e|passport|id)\s+(?:no\.?|number|#|id)?\s*:?\s*$/i;
const PHONE_AFTER_CUE = /^\s*[-,(]?\s*(?:office|fax|mobile|cell|home|work|desk)\b/i;
const DATE_LIKE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{1,2}:\d{2})$/;

// --- dates of birth, addresses, names ---

const MONTHS = 'jan(?:uary|uar)?|feb(?:ruary|ruar)?|mar(?:ch)?|märz|apr(?:il)?|may|mai|jun(?:e|i)?|jul(?:y|i)?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|okt(?:ober)?|nov(?:ember)?|dec(?:ember)?|dez(?:ember)?';
const DATE = new RegExp(
  `\\b(?:\\d{4}-\\d{2}-\\d{2}|\\d{1,2}[./-]\\d{1,2}[./-](?:\\d{4}|\\d{2})|\\d{1,2}(?:st|nd|rd|th)?\\.?\\s+(?:of\\s+)?(?:${MONTHS})\\.?,?\\s+\\d{4}|(?:${MONTHS})\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4})\\b`,
  'giu',
);
const DOB_CUE = /\b(?:born|birth|birthday|dob|d\.o\.b\.?|date\s+of\s+birth|geboren|geb\.|geburtsdatum|né(?:e)?\s+le|fecha\s+de\s+nacimiento|nacid[oa])\b[^\n]{0,30}$/i;

const STREET_SUFFIX =
  'street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|parkway|pkwy|square|sq|highway|hwy|circle|cir|trail|trl|crescent|cres|close|grove|gardens|row|walk|alley|plaza|loop|path|pike|point|ridge|view|hill|heights|park|mews|wharf|forges|crossing|expressway|freeway|turnpike';
const STREET_AHEAD = new RegExp(`^\\s+(?:[\\p{Lu}][\\p{L}'.-]*\\s+){1,3}(?:${STREET_SUFFIX})\\b`, 'iu');
const ADDRESS_NUMBER_FIRST = new RegExp(
  `\\b\\d{1,6}[A-Za-z]?(?:-\\d{1,4})?\\s+(?:[\\p{Lu}][\\p{L}'.-]*\\s+){0,3}(?:${STREET_SUFFIX})\\b\\.?(?:,?\\s+(?:apt\\.?|apartment|suite|ste\\.?|unit|#|flat)\\s*#?\\s*[\\dA-Za-z-]{1,6})?`,
  'giu',
);
const ADDRESS_NAME_FIRST =
  /\b[\p{Lu}][\p{L}-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|katu|tie|kuja|polku|gatan|gata|vägen|väg|gränd|vej|gade|veien|vegen|laan|straat|plein|gracht|utca|út|tér|ulica|aleja|tee|iela|gatvė|cesta|ulice|náměstí)\s+\d{1,5}[A-Za-z]?(?:\s*[,/]\s*\d{1,5})?\b/gu;
const ADDRESS_ROMANCE =
  /\b(?:rue|avenue|boulevard|bd|chemin|allée|place|impasse|via|viale|piazza|corso|largo|calle|avenida|avda\.?|paseo|plaza|carrer|rua|travessa|praça|ul\.|ulica|u\.|str\.|strada|aleea|odos|οδός)\s+(?:(?:de|del|della|di|da|do|dos|das|la|le|les|des|du|el)\s+)*[\p{Lu}\d][\p{L}'.-]*(?:\s+[\p{Lu}][\p{L}'.-]*){0,3},?\s+\d{1,5}[A-Za-z]?\b|\b\d{1,5},?\s+(?:rue|avenue|boulevard|chemin|allée|place|impasse|via|calle)\s+(?:(?:de|del|della|di|la|le|les|des|du)\s+)*[\p{Lu}][\p{L}'.-]*(?:\s+[\p{Lu}][\p{L}'.-]*){0,3}/giu;
/** "20789 Allika 46", "760 Passauer Strasse 33": a building number, a street name, a house number. */
const ADDRESS_NUM_NAME_NUM = /(?<![\p{L}\p{N}.,-])\d{1,5}[ \t]+[\p{Lu}][\p{L}'.-]+(?:[ \t]+[\p{L}'.-]+){0,3}[ \t]+\d{1,4}[A-Za-z]?\.?(?![\p{N}])/gu;
/** "Hafnarstraeti 5" alone on an address line (followed by a unit, a town line or the end of the block). */
const ADDRESS_LINE = /(?<=^|\n)[ \t>]*([\p{Lu}][\p{L}'.-]+(?:[ \t]+[\p{L}'.-]+){0,3}[ \t]+\d{1,4}[A-Za-z]?\.?)[ \t]*(?=\n[ \t>]*(?:apt\.?|suite|unit|[\p{Lu}]))/giu;
const ADDRESS_PO_BOX = /\bP\.?\s?O\.?\s?Box\s+\d{1,6}\b|\bPostbox\s+\d{1,6}\b/giu;
const ADDRESS_UNIT = /\b(?:apt\.?|apartment|suite|ste\.|unit|flat)\s*#?\s*\d{1,5}[A-Za-z]?\b/giu;
const ADDRESS_MILITARY = /\b(?:psc|unit|cmr)\s+\d{3,5},?\s+box\s+\d{3,5}\b|\b(?:apo|fpo|dpo)\s+(?:aa|ae|ap)\s+\d{5}\b|\b(?:uss|usns|usnv|usncs|usnfs|usns)\s+[\p{Lu}][\p{L}]+\b/giu;
const ADDRESS_CUE_ANYWHERE =
  /\b(?:(?:the\s+)?corner\s+of|lives?\s+(?:at|on)|north\s+side\s+of|living\s+at|address(?:\s+is)?\s*:?|located\s+at|office\s+is\s+at|send\s+(?:it|them|this|a\s+new\s+one)?\s*to|drops?\s+you\s+off\s+at|moved\s+to|ship(?:ped)?\s+to|deliver(?:ed)?\s+to|adresse\s*:?|anschrift\s*:?|dirección\s*:?)\s*/gi;
const POSTAL_TAIL = /^(?:,?[ \t]*\n?[ \t]*[\p{L}\d][\p{L}\d .'-]{0,40}(?:,[ \t]*[\p{Lu}]{2})?[ \t]*\d{0,5}(?:[ -]\d{3,4})?){1,3}/u;

/** A capitalised word: `Ada`, `Szöllösy`, `O'Neil`, `Jean-Luc`, or an initial `J.` / `J`. */
const CAP = "[\\p{Lu}][\\p{Ll}\\p{M}'’]+(?:-[\\p{Lu}][\\p{Ll}\\p{M}]+)?";
const INITIAL = '[\\p{Lu}]\\.?';
/** Lower-case particles inside a name: Anneke de Vries, Ludwig van Beethoven, Fatima bin Laden. */
const PARTICLE = '(?:de|van|von|der|den|da|di|du|la|le|dos|das|del|della|ter|ten|bin|ibn|al)';
const NAME_SEQ = new RegExp(`(?<![\\p{L}\\p{N}])${CAP}(?:[ \\t]+(?:${INITIAL}[ \\t]+|${PARTICLE}[ \\t]+(?:${PARTICLE}[ \\t]+)?)?${CAP}){0,3}(?![\\p{L}])`, 'gu');
const LIST_OF_CAPS = new RegExp(`${CAP}(?:\\s*,\\s*${CAP}){1,8},?\\s+(?:and|und|et|y|e|och|og|i)\\s+${CAP}`, 'gu');
const TITLE_CUE = /\b(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame|lady|lord|herr|frau|mme|mlle|sr|sra|srta|dott|ing)\.?\s*$/i;
/** Cues that introduce a name: enough on their own for one capitalised word. */
const NAME_CUE_STRONG =
  /(?:\bmy\s+name\s+is|\bname\s+is|\bnamed(?:\s+(?:him|her|it))?|\bcalled|\bi\s+am|\bi'm|\bthis\s+is|\bname\s*:|\bnames?\s+on\s+the\s+\w+\??\s*(?:user\s*:)?|\bname\?\s*|\bdear|\bhi|\bhello|\bhey|\bthanks,?|\bregards,?\s*|\bsincerely,?\s*|\bfollow\s+up\s+with|\btalk\s+to|\bspeak\s+(?:to|with)|\bask\s+for|\bmaiden\s+name\s+is|\blast\s+name\??|\bfirst\s+name\??|\bsurname\??|\bfounders?\s*:|\bask|\bheiße|\bich\s+bin|\bje\s+m'appelle|\bme\s+llamo|\bsoy|\bpartner'?s?\s+name)\s*[,:]?\s*$/i;
/** Words before a name as often as before anything else: a small nudge only. */
const NAME_CUE_WEAK = /(?:\bby|\bwith|\band|\bto|\bfrom)\s*$/i;
/** Cues that often, not always, precede a name. */
const NAME_CUE =
  /(?:\bit'?s\s+(?:me\s*,?\s*)?|\bcontact|\bmeet|\bmarried|\bwife|\bhusband|\bson|\bdaughter|\bbrother|\bsister|\bmother|\bfather|\bgrandfather|\bgrandmother|\bfriend|\bcolleague|\bkid|\bchild|\buncle|\baunt|\bcousin|\bniece|\bnephew|\bboss|\bunder|\bassistant\s+to|\bdirected\s+by|\bwritten\s+by|\bproduced\s+by|\bproducer|\bsinger|\bauthor|\badd|\bsays|\bsaid|\breplied|\bexplained|\btribute\s+to|\bshouted\s+at|\bsaid\s+to|\btold|\bgiven|\bthanked|\bvisited)\s*[,:]?\s*$/i;

const HAS_DIGIT = /\d/;
const HAS_UPPER = /\p{Lu}/u;


function push(out: Span[], type: EntityType, start: number, end: number): void {
  if (end > start) out.push({ type, start, end });
}

function detectSecrets(text: string, out: Span[]): void {
  for (const p of SECRET_PATTERNS) {
    if (p.hint && !text.includes(p.hint)) continue;
    for (const m of text.matchAll(p.re)) {
      if (p.group) {
        const v = m[p.group];
        if (!v) continue;
        // Skip placeholders and words: a secret has a digit or mixed case, and is not a redaction marker.
        if (!/\d/.test(v) && !(/[a-z]/.test(v) && /[A-Z]/.test(v))) continue;
        const start = m.index + m[0].lastIndexOf(v);
        push(out, p.type, start, start + v.length);
      } else push(out, p.type, m.index, m.index + m[0].length);
    }
  }
  for (const m of text.matchAll(URL_CREDS)) {
    const start = m.index + m[0].indexOf(m[1]!);
    push(out, 'URL_CREDENTIALS', start, start + m[1]!.length);
  }
}

function detectStructured(text: string, out: Span[]): void {
  // Only around each '@': the pattern's leading class would otherwise be tried at every position.
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    const from = Math.max(0, at - 65);
    const window = text.slice(from, at + 260);
    EMAIL.lastIndex = 0;
    for (const m of window.matchAll(EMAIL)) {
      const start = from + m.index;
      if (start <= at && start + m[0].length > at && (from === 0 || m.index > 0)) push(out, 'EMAIL_ADDRESS', start, start + m[0].length);
    }
  }
  if (!HAS_DIGIT.test(text)) return;
  for (const m of text.matchAll(IBAN)) {
    if (ibanValid(m[0])) push(out, 'IBAN_CODE', m.index, m.index + m[0].length);
  }
  const cards = new RegExp(CARD.source, CARD.flags);
  for (let m = cards.exec(text); m; m = cards.exec(text)) {
    const card = cardWithin(m[0]);
    if (card) {
      push(out, 'CREDIT_CARD', m.index + card.start, m.index + card.end);
      cards.lastIndex = m.index + card.end;
    } else {
      // Short groups in front ("rooms 12 34 4111 1111 …") may have cut a card off at the run's 19 digits:
      // look again from the first full group.
      const firstFull = m[0].search(/(?<=^|[ -])\d{4}/);
      cards.lastIndex = m.index + (firstFull > 0 ? firstFull : m[0].length);
    }
  }
  for (const m of text.matchAll(SSN)) {
    if (!ssnValid(m[1]!, m[3]!, m[4]!)) continue;
    // Nine bare digits are an SSN only next to a cue; with separators the 3-2-4 shape is enough.
    if (!m[2] && !SSN_CONTEXT.test(text.slice(Math.max(0, m.index - 40), m.index))) continue;
    push(out, 'US_SSN', m.index, m.index + m[0].length);
  }
  for (const m of text.matchAll(NINO)) {
    if (ninoValid(m[0]) && /[A-Z]/.test(m[0][0]!)) push(out, 'UK_NINO', m.index, m.index + m[0].length);
  }
  for (const m of text.matchAll(ES_NIF)) {
    if (esNifValid(m[0])) push(out, 'ES_NIF', m.index, m.index + m[0].length);
  }
  for (const m of text.matchAll(IPV4)) {
    // Version numbers (`v1.2.3.4`, `version 10.0.0.1`) are left alone.
    if (/\b(?:v|version|ver\.?)\s*$/i.test(text.slice(Math.max(0, m.index - 9), m.index))) continue;
    push(out, 'IP_ADDRESS', m.index, m.index + m[0].length);
  }
  if (text.includes(':')) {
    for (const m of text.matchAll(IPV6)) {
      if (m[0].length >= 6 && ipv6Valid(m[0]) && /[0-9a-f]{2}/i.test(m[0]) && !/^\d{1,2}:\d{2}(?::\d{2})?$/.test(m[0])) {
        push(out, 'IP_ADDRESS', m.index, m.index + m[0].length);
      }
    }
  }
}

function detectPhones(text: string, out: Span[]): void {
  for (const m of text.matchAll(PHONE)) {
    const v = m[0].replace(/[\s.-]+$/, '');
    const ext = /(?:x|ext\.?|#)\s?\d{1,5}$/i.test(v);
    const core = ext ? v.replace(/\s?(?:x|ext\.?|#)\s?\d{1,5}$/i, '') : v;
    const coreDigits = core.replace(/\D/g, '').length;
    if (coreDigits < 7 || coreDigits > 15) continue;
    if (DATE_LIKE.test(core) || /^\d{4}\s?-\s?\d{4}$/.test(core) || /^\d{4}-\d{2}-\d{2}/.test(core)) continue;
    const following = text.slice(m.index + v.length, m.index + v.length + 40);
    // A timestamp ("2000-04-16 11:34:35") or a building number before a street ("17031 2202 Rissik St").
    if (/^:\d{2}/.test(following) || STREET_AHEAD.test(following)) continue;
    const groups = core.split(/[\s.()-]+/).filter(Boolean);
    const international = /^(?:\+|00)/.test(core);
    const nanp = /^(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}$/.test(core);
    const trunk = /^\(?0\d/.test(core) && groups.length >= 2;
    const before = text.slice(Math.max(0, m.index - 40), m.index);
    const after = text.slice(m.index + v.length, m.index + v.length + 12);
    if (NOT_PHONE_CUE.test(before)) continue;
    const cue = PHONE_CUE.test(before) || PHONE_AFTER_CUE.test(after) || /\n\s*$/.test(before) && /(?:phone|mobile|fax|desk|tel)[^\n]*:\s*\n?\s*$/i.test(text.slice(Math.max(0, m.index - 60), m.index));
    let ok: boolean;
    if (international) ok = coreDigits >= 8;
    else if (nanp) ok = true;
    else if (groups.length === 1) ok = cue && coreDigits >= 7 && coreDigits <= 12;
    else if (trunk) ok = coreDigits >= 8 || cue;
    else ok = cue || (groups.length >= 3 && coreDigits >= 9 && groups.every((g) => g.length >= 2 && g.length <= 4));
    if (ok) push(out, 'PHONE_NUMBER', m.index, m.index + v.length);
  }
}

function detectDates(text: string, out: Span[]): void {
  for (const m of text.matchAll(DATE)) {
    if (DOB_CUE.test(text.slice(Math.max(0, m.index - 45), m.index))) push(out, 'DATE_OF_BIRTH', m.index, m.index + m[0].length);
  }
}

function extendPostal(text: string, end: number): number {
  const tail = POSTAL_TAIL.exec(text.slice(end, end + 120));
  if (!tail) return end;
  // Extend over "City, ST 12345" lines only when they end in a postal code or a short all-caps region.
  const t = tail[0];
  const lastCode = t.search(/\d{3,}(?:[ -]\d{3,4})?\s*$/);
  return lastCode >= 0 ? end + t.trimEnd().length : end;
}

/**
 * From the end of a street line, over at most five following short lines (town, region, country) to the
 * last one that ends in a postal code. Stops at a line that holds anything else (a phone, an e-mail, a
 * label, a sentence).
 */
function extendBlock(text: string, end: number): number {
  const lineEnd = text.indexOf('\n', end);
  if (lineEnd < 0 || /\S/.test(text.slice(end, lineEnd).replace(/^[\s,.]+/, '').replace(/^(?:apt\.?|suite|unit)\s*\d+/i, ''))) return end;
  let best = end;
  let at = lineEnd;
  for (let i = 0; i < 6 && at < text.length; i++) {
    const next = text.indexOf('\n', at + 1);
    const line = text.slice(at + 1, next < 0 ? text.length : next);
    if (line.trim() === '') {
      at = next < 0 ? text.length : next;
      continue;
    }
    if (line.length > 48 || /[@:?!]|https?|\d{5,}[ -]?\d{3,}|\(\d+\)/.test(line) || (line.replace(/\D/g, '').length >= 7)) break;
    const lineStart = at + 1 + (line.length - line.trimStart().length);
    if (/(?:^|\s)\d{3,6}(?:[ -]\d{2,4})?\s*$|^\s*[>,]?\s*(?:apt\.?|suite|unit)\b/i.test(line)) best = lineStart + line.trimStart().trimEnd().length;
    at = next < 0 ? text.length : next;
  }
  return best;
}

function detectAddresses(text: string, out: Span[]): void {
  const found: Span[] = [];
  for (const re of [ADDRESS_NUMBER_FIRST, ADDRESS_NAME_FIRST, ADDRESS_ROMANCE, ADDRESS_MILITARY, ADDRESS_NUM_NAME_NUM, ADDRESS_PO_BOX]) {
    for (const m of text.matchAll(re)) {
      const v = m[0];
      // "3 days", "10 ways": the suffix must be capitalised or abbreviated like a street name.
      if (re === ADDRESS_NUMBER_FIRST && !/\b[\p{Lu}]/u.test(v.replace(/^\d+\s*/, ''))) continue;
      found.push({ type: 'STREET_ADDRESS', start: m.index, end: extendPostal(text, m.index + v.length) });
    }
  }
  for (const m of text.matchAll(ADDRESS_UNIT)) found.push({ type: 'STREET_ADDRESS', start: m.index, end: m.index + m[0].length });
  if (text.includes('\n')) {
    for (const m of text.matchAll(ADDRESS_LINE)) {
      const start = m.index + m[0].indexOf(m[1]!);
      found.push({ type: 'STREET_ADDRESS', start, end: start + m[1]!.length });
    }
    // An address block: the lines after a street line, down to the one ending in a postal code.
    for (const f of [...found]) {
      const end = extendBlock(text, f.end);
      if (end > f.end) found.push({ type: 'STREET_ADDRESS', start: f.start, end });
    }
  }
  // A cue ("lives at", "address:") followed by a run with a number: up to the end of the clause.
  for (const cue of text.matchAll(ADDRESS_CUE_ANYWHERE)) {
    const start = cue.index + cue[0].length;
    const rest = /^[^\n.?!;]{4,80}/.exec(text.slice(start, start + 81));
    if (rest && /\d/.test(rest[0]) && /^[\p{Lu}\d]/u.test(rest[0])) {
      const v = rest[0].replace(/[\s,]+$/, '');
      found.push({ type: 'STREET_ADDRESS', start, end: start + v.length });
    }
  }
  out.push(...found);
}

/** The next word names an organisation ("... Orchestra", "... Partners"). */
function orgFollows(text: string, end: number): boolean {
  const next = /^[ \t]+([\p{L}]+)/u.exec(text.slice(end, end + 30))?.[1];
  return next !== undefined && /^[\p{Lu}]/u.test(next) && ORG_WORDS.has(next.toLowerCase());
}

function isNameToken(w: string): boolean {
  return !NOT_NAME_WORDS.has(w.toLowerCase().replace(/[’']s$/, '').replace(/\.$/, ''));
}

/** Characters covered by spans: an overlap test in the span's length, whatever the number of spans. */
class Cover {
  private readonly bits: Uint8Array;
  constructor(length: number, spans: readonly Span[] = []) {
    this.bits = new Uint8Array(length);
    for (const s of spans) this.add(s);
  }
  add(s: Span): void {
    this.bits.fill(1, s.start, s.end);
  }
  hits(s: Span): boolean {
    for (let i = s.start; i < s.end; i++) if (this.bits[i]) return true;
    return false;
  }
}

/** Two or more lines that start with a capitalised word and a colon: a dialogue, whose speakers are people. */
const SPEAKER_LINE = /(?:^|\n)[ \t>]*[\p{Lu}][\p{Ll}\p{M}]+:[ \t]*["“]?[\p{L}]/gu;

function detectNames(text: string, out: Span[], takenSpans: readonly Span[]): void {
  const dialogue = text.includes(':') && (text.match(SPEAKER_LINE)?.length ?? 0) >= 2;
  const taken = new Cover(text.length, takenSpans);
  const named = new Cover(text.length);
  const names: Span[] = [];
  const addName = (sp: Span) => {
    names.push(sp);
    named.add(sp);
  };
  const tokensFound = new Set<string>();
  for (const m of text.matchAll(NAME_SEQ)) {
    let start = m.index;
    let v = m[0].replace(/[’']s$/, '');
    // Trim leading and trailing words that are never names ("Hello Anna Berg" -> "Anna Berg").
    let words = v.split(/\s+/);
    while (words.length && !isNameToken(words[0]!)) {
      start += words[0]!.length + (v.slice(words[0]!.length).match(/^\s+/)?.[0].length ?? 0);
      v = v.slice(v.indexOf(words[0]!) + words[0]!.length).replace(/^\s+/, '');
      words = words.slice(1);
    }
    while (words.length && !isNameToken(words[words.length - 1]!)) {
      words = words.slice(0, -1);
      v = words.join(' ');
    }
    if (!words.length) continue;
    // Recompute v from the original text so whitespace inside stays exact.
    const end = text.indexOf(words[words.length - 1]!, start) + words[words.length - 1]!.length;
    v = text.slice(start, end);
    const span: Span = { type: 'PERSON', start, end };
    if (taken.hits(span)) continue;
    if (words.some((w) => ORG_WORDS.has(w.toLowerCase())) || orgFollows(text, end)) continue;
    const before = text.slice(Math.max(0, start - 32), start);
    const sentenceStart = /(?:^|[.!?:"“]\s*|\n\s*)$/.test(before);
    const fullWords = words.filter((w) => !/^[\p{Lu}]\.?$/u.test(w));
    const given = fullWords.some((w) => GIVEN_NAMES.has(w.toLowerCase()));
    const surnameLike = fullWords.some((w) => w.length > 3 && SURNAME_ENDING.test(w));
    const nonAscii = fullWords.some((w) => /[^\p{ASCII}]/u.test(w));
    const titled = TITLE_CUE.test(before);
    const strongCue = NAME_CUE_STRONG.test(before);
    const cued = !strongCue && NAME_CUE.test(before);
    const after = text.slice(end, end + 24);
    const hasInitial = words.length > fullWords.length;
    let score = 0;
    if (titled) score += 3;
    if (strongCue) score += 3;
    if (cued) score += 2;
    else if (!strongCue && NAME_CUE_WEAK.test(before)) score += 1;
    if (given) score += 2;
    if (fullWords.length >= 2) score += 1.5;
    if (hasInitial) score += 1.5;
    if (surnameLike || nonAscii || fullWords.some((w) => SURNAME_PREFIX.test(w))) score += fullWords.length >= 2 ? 1 : 0.5;
    if (/^[’']s\b/.test(after)) score += 0.5;
    if (/^\s+(?:said|says|told|asked|lives|lived|listed|had|has|was|will|flew|spent|wrote|sang|died|married|works|worked|joined|founded|grew|moved|signed|reported|called|booked|sent|asked|met|visited|arrived|left|started|approved|paid|will\s+be|has\s+been|is\s+from|is\s+a|is\s+the)\b/.test(after)) score += fullWords.length >= 2 || given ? 1 : 0.5;
    // A dialogue speaker ("Nicole: ...") or a heading line holding only the name.
    const speaker = /(?:^|\n)[ \t>]*$/.test(before) && (/^:\s?["“]?\S/.test(after) || /^[ \t]*\n/.test(after));
    if (speaker) score += fullWords.length === 1 ? (dialogue ? 2.5 : 1) : 1.5;
    // Addressed by name: "Warrane, can I ...", "Remember me, Mary?".
    const vocative = sentenceStart && /^,\s*(?:can|could|would|will|please|thanks|thank|i|we|you|do|did|are|is|have|how|what|where|when|why)\b/i.test(after);
    if (vocative) score += 2.5;
    // "Matej's address", "Olga Krylova's killers".
    if (/^[’']s\s+(?:address|daughter|son|kids?|wife|husband|mother|father|brother|sister|friend|boss|phone|email|e-mail|car|house|birthday|account|killers?|death|murder|family|funeral|wedding)\b/i.test(after)) score += 2;
    // An appositive: "The tenant, Priya Raghunathan, reported".
    if (/\b(?:the|our|my|your|their)\s+[\p{Ll}]+,\s*$/u.test(before) && /^,/.test(after)) score += 1.5;
    if (/^,\s+(?:the|a|an|our|their|my)\s+[\p{L} -]{2,40},\s+(?:said|says|told|wrote|explained|added)\b/u.test(after)) score += 1.5;
    if (/^\s*[?!]/.test(after) && /,\s*$/.test(before)) score += 1;
    if (/\bthe\s+$/i.test(before)) score -= 2;
    if (sentenceStart && fullWords.length === 1 && !given && !titled && !cued && !strongCue && !speaker && !vocative) score -= 2;
    // Org-like continuations ("Anna Bank", "Berg Group") are left to the organisation: not a person.
    if (/^\s+(?:inc|corp|llc|ltd|gmbh|group|bank|university|company|co)\b/i.test(text.slice(end, end + 14))) score -= 3;
    if (score >= 2) {
      addName(span);
      for (const w of fullWords) if (w.length > 2) tokensFound.add(w);
    }
  }
  // A list with one person in it is a list of people: "founders: Kónya, Becker and Vasquez".
  if (names.length) {
    for (const m of text.matchAll(LIST_OF_CAPS)) {
      const items = [...m[0].matchAll(new RegExp(CAP, 'gu'))];
      // "Davis, Reynolds and Williamson" (three surnames, the form of a firm's name) or a list naming a firm: not people.
      if (orgFollows(text, m.index + m[0].length) || /\bthe\s+$/i.test(text.slice(Math.max(0, m.index - 5), m.index))) continue;
      if (items.length === 3 && !items.some((it) => GIVEN_NAMES.has(it[0].toLowerCase()))) continue;
      const spans = items.map((it) => ({ type: 'PERSON' as const, start: m.index + it.index, end: m.index + it.index + it[0].length }));
      if (!spans.some((sp) => named.hits(sp))) continue;
      for (const sp of spans) {
        const w = text.slice(sp.start, sp.end);
        if (isNameToken(w) && !named.hits(sp) && !taken.hits(sp)) {
          addName(sp);
          tokensFound.add(w);
        }
      }
    }
  }
  // A surname or given name already found elsewhere in the text is the same person ("... Yefremova said").
  if (tokensFound.size) {
    const re = new RegExp(`(?<![\\p{L}])(?:${[...tokensFound].map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![\\p{L}])`, 'gu');
    for (const m of text.matchAll(re)) {
      const span: Span = { type: 'PERSON', start: m.index, end: m.index + m[0].length };
      if (!named.hits(span) && !taken.hits(span)) addName(span);
    }
  }
  out.push(...names);
}

export interface DetectOptions {
  /** Entity types to look for; default all. */
  types?: ReadonlySet<EntityType>;
}

/** Every entity in `text`, in UTF-16 offsets, overlaps resolved by PRIORITY, sorted by start. */
export function detectSpans(text: string, opts: DetectOptions = {}): Span[] {
  const want = (t: EntityType) => !opts.types || opts.types.has(t);
  const raw: Span[] = [];
  detectSecrets(text, raw);
  detectStructured(text, raw);
  const digits = HAS_DIGIT.test(text);
  if (digits && want('PHONE_NUMBER')) detectPhones(text, raw);
  if (digits && want('DATE_OF_BIRTH')) detectDates(text, raw);
  // Every address pattern holds a number; every name a capital letter.
  if (digits && want('STREET_ADDRESS')) detectAddresses(text, raw);
  if (HAS_UPPER.test(text) && want('PERSON')) detectNames(text, raw, raw.filter((s) => s.type !== 'STREET_ADDRESS'));
  return resolve(raw.filter((s) => want(s.type)), text.length);
}

function resolve(spans: Span[], length: number): Span[] {
  spans.sort((a, b) => RANK.get(a.type)! - RANK.get(b.type)! || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept: Span[] = [];
  // Which kept span owns each character: overlaps are found in the span's own length, not the count of spans.
  const owner = new Int32Array(length).fill(-1);
  const mark = (i: number, from: number, to: number) => owner.fill(i, from, to);
  for (const s of spans) {
    let clash = -1;
    for (let i = s.start; i < s.end; i++) {
      if (owner[i]! >= 0) {
        clash = owner[i]!;
        break;
      }
    }
    if (clash < 0) {
      kept.push(s);
      mark(kept.length - 1, s.start, s.end);
      continue;
    }
    // Same type: merge into one span (an address and its unit, a name found twice) over free characters.
    const k = kept[clash]!;
    if (k.type === s.type) {
      let from = s.start;
      while (from < k.start && owner[from] === -1) from++;
      let to = s.end;
      while (to > k.end && owner[to - 1] === -1) to--;
      if (from === s.start && s.start < k.start) {
        mark(clash, s.start, k.start);
        k.start = s.start;
      }
      if (to === s.end && s.end > k.end) {
        mark(clash, k.end, s.end);
        k.end = s.end;
      }
    }
  }
  return kept.sort((a, b) => a.start - b.start);
}
