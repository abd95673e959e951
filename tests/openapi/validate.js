#!/usr/bin/env node
// validate.js - checks recorded HTTP exchanges (JSON lines written by
// tests/routes/helpers.bash) against openapi.yaml with openapi-backend, a
// maintained OpenAPI 3 library (pinned in tools/openapi): the library routes
// each request to its operation and validates the response body and headers
// with the operation's schemas. Run by tests/openapi/contract.sh.
//
//   node validate.js SPEC TOOLS_DIR FILE...    one result line per FILE:
//       "ok <n> exchanges" or "not ok <n> exchanges, <k> violations" then
//       "# ..." lines naming each violation
//   node validate.js --fixtures SPEC TOOLS_DIR FILE
//       FILE holds records with "expect": "valid" or "violation"; one result
//       line per record saying whether the validator judged it as expected.
//
// What is checked for each exchange:
//   - an operation of the document matches the method and path, else the
//     answer is one the document describes for any path (components.responses:
//     404 NotFound for an unknown path, 405 MethodNotAllowed with Allow for a
//     known path and another method, 204 with Allow for OPTIONS);
//   - the status is listed for the operation, or is one nginx gives on any
//     path (400, 404, 405, 413, 414, 431, 501, 503, 505: components.responses);
//   - the body is JSON and valid against the response's schema (no body for
//     204 and HEAD), and its Content-Type is the documented one, with
//     charset=utf-8;
//   - every header sent (transport headers aside) is documented for that
//     response, with a valid value, and every header marked required is sent.
'use strict';

const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const fixtures = args[0] === '--fixtures';
if (fixtures) args.shift();
const [specFile, toolsDir, ...files] = args;
if (!specFile || !toolsDir || files.length === 0) {
  console.error('usage: validate.js [--fixtures] SPEC TOOLS_DIR FILE...');
  process.exit(2);
}
const nm = path.resolve(toolsDir, 'node_modules');
const { OpenAPIBackend } = require(path.join(nm, 'openapi-backend'));
const yaml = require(path.join(nm, 'js-yaml'));
const addFormats = require(path.join(nm, 'ajv-formats'));

// Headers of HTTP itself, not of the API.
const TRANSPORT = new Set(['date', 'server', 'connection', 'keep-alive', 'content-length',
  'transfer-encoding', 'content-encoding', 'content-type']);

// The answers any path can get, by status: components.responses names.
const ANY_PATH = {
  400: 'BadRequest', 404: 'NotFound', 405: 'MethodNotAllowed', 413: 'PayloadTooLarge',
  414: 'UriTooLong', 431: 'HeaderTooLarge', 501: 'NotImplemented', 503: 'Unavailable',
  505: 'HttpVersionNotSupported',
};

// Statuses nginx answers before any route is known (any path, any method);
// those an operation need not list itself.
const NGINX_ANY = [400, 413, 414, 431, 501, 503, 505];
const NGINX_ONLY = [414, 431, 501, 505];

const doc = yaml.load(fs.readFileSync(specFile, 'utf8'));

// The answers documented for any path, as operations of a second document
// that shares the components (so the same library validates them).
const anyPath = {
  openapi: doc.openapi,
  info: { title: 'answers on any path', version: doc.info.version },
  paths: {},
  components: doc.components,
};
for (const [status, name] of Object.entries(ANY_PATH)) {
  anyPath.paths[`/any/${status}`] = {
    get: {
      operationId: `any${status}`,
      responses: { [status]: { $ref: `#/components/responses/${name}` } },
    },
  };
}
anyPath.paths['/any/options'] = {
  get: {
    operationId: 'anyOptions',
    responses: { 204: { $ref: '#/components/responses/Options' } },
  },
};

function resolve(d, node) {
  let n = node;
  for (let i = 0; n && n.$ref && i < 20; i++) {
    n = n.$ref.slice(2).split('/').reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), d);
  }
  return n;
}

// A path the API routes as written: "/seg/seg", no empty or dot segments.
function canonical(p) {
  return /^(\/[^/]+)+$/.test(p) && !p.split('/').some((s) => s === '.' || s === '..');
}

function errText(errors) {
  return (errors || []).map((e) => `${e.instancePath || e.dataPath || ''} ${e.message}`.trim()
    + (e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : '')
    + (e.params && e.params.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : '')).join('; ');
}

async function main() {
  // Formats (date, date-time, int64...) are checked, not ignored.
  const customizeAjv = (ajv) => {
    addFormats(ajv);
    return ajv;
  };
  const opts = { strict: false, quick: false, validate: true, customizeAjv };
  const api = new OpenAPIBackend({ definition: doc, ...opts });
  await api.init();
  const fallback = new OpenAPIBackend({ definition: anyPath, ...opts });
  await fallback.init();
  const docPaths = api.router.getOperations();

  // The violations of one exchange (empty when it conforms).
  function check(r) {
    const out = [];
    const method = (r.method || 'GET').toUpperCase();
    const status = Number(r.status);
    const where = `${method} ${r.path}${r.query ? '?' + r.query : ''} -> ${status}`;
    let owner = api;
    let op;
    if (canonical(r.path)) {
      op = api.router.matchOperation({ method: method === 'HEAD' ? 'get' : method, path: r.path, headers: {} });
    }
    const pathKnown = canonical(r.path) && docPaths.some((o) =>
      new RegExp('^' + o.path.replace(/\{[^}]+\}/g, '[^/]+') + '$').test(r.path));
    const responses = op ? op.responses || {} : {};
    if (!op || !(String(status) in responses)) {
      // Not an operation's own answer: one of the answers for any path.
      let id = null;
      let why;
      if (!pathKnown) {
        if (status === 404 || NGINX_ANY.includes(status)) id = `any${status}`;
        why = 'an unknown path must be 404';
      } else if (!op && method === 'OPTIONS') {
        if (status === 204) id = 'anyOptions';
        why = 'OPTIONS on a known path must be 204';
      } else if (!op) {
        if (status === 405 || NGINX_ANY.includes(status)) id = `any${status}`;
        why = 'a method the path does not serve must be 405';
      } else {
        if (NGINX_ONLY.includes(status)) id = `any${status}`;
        why = `status ${status} is not documented for ${op.operationId}`;
      }
      if (id === null) {
        out.push(`${where}: ${why}`);
        return out;
      }
      owner = fallback;
      op = fallback.router.getOperation(id);
    }
    const resp = resolve(owner.definition, (op.responses || {})[String(status)]) || {};
    const headers = {};
    for (const [k, v] of Object.entries(r.headers || {})) {
      if (!TRANSPORT.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
    }
    // Body and content type.
    const content = resp.content || {};
    const noBody = status === 204 || method === 'HEAD';
    if (noBody) {
      if (r.body) out.push(`${where}: a body on a ${status === 204 ? '204' : 'HEAD'} answer`);
    } else if (Object.keys(content).length === 0) {
      if (r.body) out.push(`${where}: a body where the document has none`);
    } else {
      const ct = ((r.headers || {})['content-type'] || '').split(';')[0].trim().toLowerCase();
      if (!Object.keys(content).includes(ct)) {
        out.push(`${where}: Content-Type ${ct || '(none)'} is not ${Object.keys(content).join(', ')}`);
      } else if (ct === 'application/json'
        && !/;\s*charset=utf-8\s*$/i.test((r.headers || {})['content-type'] || '')) {
        out.push(`${where}: Content-Type without charset=utf-8 (SPEC §5)`);
      }
      let body;
      if (ct === 'application/json') {
        try {
          body = JSON.parse(r.body);
        } catch (e) {
          out.push(`${where}: the body is not JSON`);
        }
      } else if (!r.body) {
        out.push(`${where}: an empty ${ct} body`);
      }
      if (body !== undefined) {
        const res = owner.validator.validateResponse(body, op, status);
        if (!res.valid) out.push(`${where}: body: ${errText(res.errors)}`);
      }
    }
    // Headers: documented (subset), valid, and the required ones present.
    const hres = owner.validator.validateResponseHeaders(headers, op, { statusCode: status, setMatchType: 'subset' });
    if (!hres.valid) out.push(`${where}: headers: ${errText(hres.errors)}`);
    for (const [name, h] of Object.entries(resp.headers || {})) {
      const hh = resolve(owner.definition, h) || {};
      if (hh.required && !(name.toLowerCase() in headers)) out.push(`${where}: header ${name} is required but missing`);
    }
    return out;
  }

  function records(file) {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        return { unreadable: `${path.basename(file)} line ${i + 1}: not JSON` };
      }
    });
  }

  let failed = 0;
  if (fixtures) {
    for (const r of records(files[0])) {
      const v = r.unreadable ? [r.unreadable] : check(r);
      const ok = (r.expect === 'valid') === (v.length === 0);
      failed += !ok;
      console.log(`${ok ? 'ok' : 'not ok'} the validator judges "${r.why}" as ${r.expect === 'valid' ? 'conforming' : 'a violation'}`);
      for (const line of v.slice(0, 5)) console.log(`# ${line}`);
    }
  } else {
    for (const file of files) {
      const recs = records(file);
      const violations = [];
      for (const r of recs) {
        const v = r.unreadable ? [r.unreadable] : check(r);
        for (const line of v) violations.push(r.test ? `${line} [${r.test}]` : line);
      }
      const name = path.basename(file, '.jsonl');
      const ok = violations.length === 0 && recs.length > 0;
      failed += !ok;
      console.log(`${ok ? 'ok' : 'not ok'} the ${recs.length} responses recorded by ${name}.bats conform to openapi.yaml`
        + (violations.length ? ` (${violations.length} violations)` : ''));
      for (const line of violations.slice(0, 40)) console.log(`# ${line}`);
      if (violations.length > 40) console.log(`# ... and ${violations.length - 40} more`);
    }
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`not ok the validator could not run: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
