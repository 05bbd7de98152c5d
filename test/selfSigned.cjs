// The one maker of self-signed certificates for the test suites, TypeScript and plain Node alike
// (the framework matrix): an EC P-256 key and certificate from openssl.
'use strict';
const { execFileSync } = require('node:child_process');

/** Writes a PEM key to `key` and certificate to `cert` for `names` (DNS names or IP addresses; the first is the subject). */
function selfSignedCertificate({ cert, key, names, days = 1 }) {
  const subjectAltName = names.map((name) => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      String(days),
      '-subj',
      `/CN=${names[0]}`,
    ].concat(['-addext', `subjectAltName=${subjectAltName}`, '-keyout', key, '-out', cert]),
    { stdio: 'pipe' },
  );
}

module.exports = { selfSignedCertificate };
