// HAR 1.2 validation for the suites, TypeScript and plain Node alike (the VS Code UI drive): the
// HAR 1.2 JSON schema (har-schema) checked by ajv, with formats (date-time, uri) checked too.
'use strict';

const Ajv = require('ajv');
const addFormats = require('ajv-formats');

let validate;

/** The problems of a HAR document, one sentence each; an empty list when it is valid HAR 1.2. */
function harProblems(har) {
  if (!validate) {
    // har-schema is written in draft-06 and uses a non-standard "optional" keyword: not strict.
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
    for (const schema of Object.values(require('har-schema'))) ajv.addSchema(schema);
    validate = ajv.getSchema('har.json#');
    if (!validate) throw new Error('har-schema has no har.json schema');
  }
  const problems = validate(har) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  if (har?.log?.version !== '1.2') problems.push(`/log/version is ${JSON.stringify(har?.log?.version)}, not "1.2"`);
  return problems;
}

module.exports = { harProblems };
