// standin.js - a local stand-in for the DynamoDB answers dynalite never gives
// (5xx, throttling, unprocessed batch entries, slow answers, transactions:
// dynalite has no TransactWriteItems). Used by tests/integration/ddb.sh.
//
// It listens on 127.0.0.1 (port 0: the kernel picks), writes the port to the
// file named by STANDIN_PORTFILE, and checks every request like DynamoDB does:
// content type, X-Amz-Target, and the SigV4 signature itself (recomputed here
// with node's crypto from AWS_SECRET_ACCESS_KEY), so the client's signing is
// verified end to end by an independent implementation.
//
// What it answers depends on the TableName in the request (for transactions:
// the TableName of the first TransactItem; the name or its prefix before a
// '-suffix'), counting requests per operation and name:
//   always-500      500 InternalServerError, always
//   throttle-twice  400 ProvisionedThroughputExceededException twice, then an item
//   condition       400 ConditionalCheckFailedException
//   slow            answers after 5 s
//   unprocessed     BatchGetItem: half the keys unprocessed on the first call
//   never-processed BatchGetItem/BatchWriteItem: everything unprocessed, always
//   tx-ok           TransactWriteItems succeeds
//   tx-condition    TransactionCanceledException, reasons [None, ConditionalCheckFailed]
//   tx-conflict     TransactionCanceledException [TransactionConflict] once, then
//                   success if the retry carries the same ClientRequestToken
//   anything else   200 {}
'use strict';

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const counts = {};
const tokens = {};

function sha256(data) {
	return crypto.createHash('sha256').update(data).digest('hex');
}

function hmac(key, data) {
	return crypto.createHmac('sha256', key).update(data).digest();
}

// Recomputes the SigV4 signature of req; returns an error message or null.
function checkSignature(req, body) {
	const auth = req.headers.authorization || '';
	const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
	if (!m)
		return 'malformed Authorization header: ' + auth;
	const [, keyId, date, region, service, signedHeaders, signature] = m;
	if (keyId !== process.env.AWS_ACCESS_KEY_ID)
		return 'unknown access key ' + keyId;
	if (service !== 'dynamodb')
		return 'service is ' + service;
	const amzDate = req.headers['x-amz-date'] || '';
	if (amzDate.slice(0, 8) !== date)
		return 'x-amz-date does not match the credential scope';
	const names = signedHeaders.split(';');
	for (const required of ['host', 'x-amz-date', 'x-amz-target', 'content-type'])
		if (!names.includes(required))
			return required + ' is not signed';
	const canonicalHeaders = names.map((n) =>
		n + ':' + String(req.headers[n] || '').trim().replace(/\s+/g, ' ') + '\n').join('');
	const canonical = ['POST', '/', '', canonicalHeaders, signedHeaders, sha256(body)].join('\n');
	const scope = date + '/' + region + '/' + service + '/aws4_request';
	const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
	let key = hmac('AWS4' + process.env.AWS_SECRET_ACCESS_KEY, date);
	key = hmac(key, region);
	key = hmac(key, service);
	key = hmac(key, 'aws4_request');
	if (hmac(key, toSign).toString('hex') !== signature)
		return 'signature mismatch';
	return null;
}

function send(res, status, obj) {
	const body = JSON.stringify(obj);
	res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0',
		'content-length': Buffer.byteLength(body) });
	res.end(body);
}

function fail(res, status, type, message) {
	send(res, status, { __type: PREFIX + type, message: message });
}

function tableOf(op, data) {
	if (data.TableName)
		return data.TableName;
	if (op === 'TransactWriteItems' && Array.isArray(data.TransactItems) && data.TransactItems.length) {
		const first = data.TransactItems[0];
		const action = first[Object.keys(first)[0]] || {};
		return action.TableName || '';
	}
	if (data.RequestItems)
		return Object.keys(data.RequestItems)[0] || '';
	return '';
}

function answer(req, res, body) {
	if (req.method !== 'POST' || req.url !== '/')
		return fail(res, 400, 'ValidationException', 'expected POST /');
	if (req.headers['content-type'] !== 'application/x-amz-json-1.0')
		return fail(res, 400, 'ValidationException', 'bad content type');
	const target = /^DynamoDB_20120810\.(\w+)$/.exec(req.headers['x-amz-target'] || '');
	if (!target)
		return send(res, 400, { __type: 'com.amazon.coral.service#UnknownOperationException' });
	const bad = checkSignature(req, body);
	if (bad)
		return fail(res, 403, 'InvalidSignatureException', bad);
	let data;
	try {
		data = JSON.parse(body);
	} catch (e) {
		return fail(res, 400, 'SerializationException', 'body is not JSON');
	}
	const op = target[1];
	const table = tableOf(op, data);
	const counter = op + ' ' + table;
	const n = counts[counter] = (counts[counter] || 0) + 1;

	// A name selects a behaviour by its prefix ("throttle-twice-2" throttles
	// too); each operation and name has its own request counter.
	const kinds = ['always-500', 'throttle-twice', 'condition', 'slow', 'unprocessed',
		'never-processed', 'tx-ok', 'tx-condition', 'tx-conflict'];
	const kind = kinds.find((k) => table === k || table.startsWith(k + '-')) || '';

	switch (kind) {
	case 'always-500':
		return fail(res, 500, 'InternalServerError', 'stand-in failure ' + n);
	case 'throttle-twice':
		if (n <= 2)
			return fail(res, 400, 'ProvisionedThroughputExceededException', 'slow down');
		return send(res, 200, { Item: { id: { N: '1' }, tries: { N: String(n) } } });
	case 'condition':
		return fail(res, 400, 'ConditionalCheckFailedException', 'The conditional request failed');
	case 'slow':
		return setTimeout(() => send(res, 200, {}), 5000);
	case 'unprocessed':
	case 'never-processed': {
		const spec = data.RequestItems[table];
		if (op === 'BatchGetItem') {
			const keys = spec.Keys;
			if (keys.length > 100)
				return fail(res, 400, 'ValidationException', 'too many keys');
			const cut = table === 'never-processed' ? 0 : (n === 1 ? Math.floor(keys.length / 2) : keys.length);
			const out = { Responses: { [table]: keys.slice(0, cut) }, UnprocessedKeys: {} };
			if (cut < keys.length)
				out.UnprocessedKeys[table] = { Keys: keys.slice(cut) };
			return send(res, 200, out);
		}
		if (op === 'BatchWriteItem') {
			if (spec.length > 25)
				return fail(res, 400, 'ValidationException', 'too many items');
			const out = { UnprocessedItems: {} };
			if (table === 'never-processed' || n === 1)
				out.UnprocessedItems[table] = table === 'never-processed' ? spec : spec.slice(1);
			return send(res, 200, out);
		}
		return send(res, 200, {});
	}
	case 'tx-ok':
	case 'tx-condition':
	case 'tx-conflict': {
		if (op !== 'TransactWriteItems' || !Array.isArray(data.TransactItems) ||
		    !/^[0-9a-f]{32}$/.test(data.ClientRequestToken || ''))
			return fail(res, 400, 'ValidationException', 'expected TransactItems and a ClientRequestToken');
		const reasons = data.TransactItems.map(() => ({ Code: 'None' }));
		if (table === 'tx-condition') {
			reasons[reasons.length - 1] = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
			return send(res, 400, { __type: PREFIX + 'TransactionCanceledException',
				Message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [' +
				    reasons.map((r) => r.Code).join(', ') + ']', CancellationReasons: reasons });
		}
		if (table === 'tx-conflict') {
			if (n === 1) {
				tokens[table] = data.ClientRequestToken;
				reasons[0] = { Code: 'TransactionConflict', Message: 'conflict' };
				return send(res, 400, { __type: PREFIX + 'TransactionCanceledException',
					Message: 'Transaction cancelled [TransactionConflict]', CancellationReasons: reasons });
			}
			if (tokens[table] !== data.ClientRequestToken)
				return fail(res, 400, 'ValidationException', 'retry with another ClientRequestToken');
		}
		return send(res, 200, {});
	}
	default:
		return send(res, 200, {});
	}
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')));
});
server.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(process.env.STANDIN_PORTFILE, String(server.address().port));
});
function stop() {
	server.close(() => process.exit(0));
	setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
