/**
 * SASLprep (RFC 4013) the way PostgreSQL applies it to passwords before hashing
 * (src/common/saslprep.c): pure-ASCII input is used as is; otherwise non-ASCII spaces map
 * to U+0020, "commonly mapped to nothing" characters are removed, the result is
 * NFKC-normalised and checked for prohibited and bidirectional-rule violations. Where
 * PostgreSQL's SASLprep fails (prohibited characters), PostgreSQL hashes the raw password,
 * and so do we, so a verifier we compute matches the one the server would have computed
 * from the plaintext.
 *
 * Approximations (documented in docs/databases.md): "unassigned" uses the Unicode version of this
 * Node.js (newer than RFC 3454's 3.2), and the bidi categories are approximated by script
 * (Hebrew, Arabic, Syriac, Thaana, NKo = RandALCat; other letters = LCat). Passwords we
 * generate are ASCII and take the exact path.
 */

const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
const MAPPED_TO_NOTHING =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: RFC 3454 B.1 removes exactly these combining and joiner characters one by one.
  /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;
// RFC 3454 C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9, and A.1 (approximated by \p{Cn}).
const PROHIBITED =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what RFC 3454 C.2 prohibits.
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: the prohibited code points are matched one by one, combining or not.
  /[\u0000-\u001F\u007F-\u009F\u0340\u0341\u06DD\u070F\u180E\u200E\u200F\u2028-\u202E\u2060-\u2063\u206A-\u206F\u2FF0-\u2FFB\uD800-\uDFFF\uE000-\uF8FF\uFDD0-\uFDEF\uFFF9-\uFFFF\u{1D173}-\u{1D17A}\u{E0001}\u{E0020}-\u{E007F}\u{F0000}-\u{FFFFD}\u{100000}-\u{10FFFD}]|[\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}]|\p{Cn}/u;
const RAND_AL =
  /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\u200F]/u;
const RAND_AL_CHAR =
  /^[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\u200F]$/u;
const L_CAT =
  /(?![\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}])\p{L}/u;

/**
 * Returns the SASLprep'd password, or `undefined` where PostgreSQL's SASLprep would fail
 * (then the raw password is what PostgreSQL hashes).
 */
export function saslprep(password: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range test PostgreSQL does first.
  if (/^[\u0000-\u007F]*$/.test(password)) return password;
  const mapped = password
    .replace(NON_ASCII_SPACE, ' ')
    .replace(MAPPED_TO_NOTHING, '')
    .normalize('NFKC');
  if (PROHIBITED.test(mapped)) return undefined;
  if (RAND_AL.test(mapped)) {
    const chars = [...mapped];
    if (L_CAT.test(mapped)) return undefined;
    if (!RAND_AL_CHAR.test(chars[0] ?? '') || !RAND_AL_CHAR.test(chars[chars.length - 1] ?? '')) {
      return undefined;
    }
  }
  return mapped;
}

/** The string PostgreSQL hashes for `password`: SASLprep'd, or raw where that fails. */
export function passwordForScram(password: string): string {
  return saslprep(password) ?? password;
}
