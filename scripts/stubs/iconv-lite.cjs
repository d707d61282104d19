'use strict';
// Stands in for iconv-lite (481 KB minified: code tables for every encoding it knows) in the
// function bundles. mysql2 calls it only for an encoding Node's Buffer does not know: our
// connections ask for utf8mb4, so queries are encoded and results decoded as UTF-8 (binary
// columns as `binary`), which mysql2 does with Buffer. Anything else a server could still
// send (a session with character_set_results=NULL) is decoded by the runtime's TextDecoder
// (Node ships full ICU); encoding to a legacy character set is refused with a clear error.
// Measured and documented in docs/deploy.md#bundle-size.

/** mysql2's encoding names that the WHATWG labels spell differently. */
const LABELS = {
  // MySQL's utf8mb3 (which mysql2 calls cesu8: it is what the server uses for handshake and
  // error messages) holds no supplementary characters, and on the rest CESU-8 is UTF-8.
  cesu8: 'utf-8',
  cp932: 'shift_jis',
  eucjpms: 'euc-jp',
  eucjp: 'euc-jp',
  euckr: 'euc-kr',
  koi8r: 'koi8-r',
  koi8u: 'koi8-u',
  latin7: 'iso-8859-13',
  macroman: 'macintosh',
  tis620: 'tis-620',
  // MySQL's utf16 is big-endian; the WHATWG label `utf-16` means little-endian.
  utf16: 'utf-16be',
};

function unsupported(encoding, what) {
  return new Error(
    `rotator's bundle cannot ${what} the character set "${encoding}" (iconv-lite is not bundled; connections use utf8mb4)`,
  );
}

exports.getDecoder = function getDecoder(encoding) {
  const name = String(encoding).toLowerCase();
  let decoder;
  try {
    decoder = new TextDecoder(LABELS[name] ?? name);
  } catch {
    throw unsupported(encoding, 'decode');
  }
  return {
    write: (buffer) => decoder.decode(buffer, { stream: true }),
    end: () => decoder.decode(),
  };
};

exports.getEncoder = function getEncoder(encoding) {
  if (LABELS[String(encoding).toLowerCase()] === 'utf-8') {
    return { write: (string) => Buffer.from(string, 'utf8'), end: () => undefined };
  }
  throw unsupported(encoding, 'encode to');
};

exports.encodingExists = function encodingExists(encoding) {
  try {
    exports.getDecoder(encoding);
    return true;
  } catch {
    return false;
  }
};

exports.decode = function decode(buffer, encoding) {
  const decoder = exports.getDecoder(encoding);
  return decoder.write(buffer) + decoder.end();
};

exports.encode = function encode(_string, encoding) {
  return exports.getEncoder(encoding);
};
