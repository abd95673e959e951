// cors.test.js - SPEC §5 CORS as a browser enforces it (curl does not): a page
// from an origin in CORS_ALLOW_ORIGINS reads /api/users/me with a real token,
// sees X-Request-Id and ETag (exposed) but not an unexposed header, and
// PATCHes a deliverable with If-Match after a preflight (in nginx's access
// log); the same page from another origin is blocked by the browser.
'use strict';
const assert = require('assert');
const fs = require('fs');
const http = require('http');

// A tiny static server: one page, on one port (one origin).
function staticServer(port) {
	const page = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>frontend</title>' +
	    '<link rel="icon" href="data:,"></head><body><h1>frontend</h1></body></html>';
	const server = http.createServer((req, res) => {
		res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
		res.end(page);
	});
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', () => resolve(server));
	});
}

// Opens the static page of origin http://localhost:PORT.
async function openFrontend(ctx, port) {
	const server = await staticServer(port);
	ctx.cleanup = () => new Promise((r) => server.close(r));
	const page = await ctx.context.newPage();
	const res = await page.goto('http://localhost:' + port + '/app.html');
	assert.strictEqual(res.status(), 200);
	return page;
}

// nginx's access log lines ("METHOD path" and status) written after offset.
function accessLog(offset) {
	const text = fs.readFileSync(process.env.BROWSER_NGINX_LOG, 'utf8').slice(offset);
	return text.split('\n').filter(Boolean).map((l) => {
		const m = l.match(/"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/);
		return m ? { method: m[1], path: m[2], status: Number(m[3]) } : { line: l };
	});
}
function logSize() {
	return fs.statSync(process.env.BROWSER_NGINX_LOG).size;
}

// A request from this test process (no browser, no CORS): the ground truth.
async function direct(ctx, method, p, opts = {}) {
	const res = await fetch(ctx.env.STACK_URL + p, {
		method,
		headers: { Authorization: 'Bearer ' + ctx.env.TEAM_TOKEN, ...(opts.headers || {}) },
		body: opts.body,
	});
	return { status: res.status, headers: res.headers, body: await res.text() };
}

// Waits until nginx has written the lines of the requests just made.
async function settle() {
	await new Promise((r) => setTimeout(r, 300));
}

async function withServer(ctx, port, fn) {
	try {
		return await fn(await openFrontend(ctx, port));
	} finally {
		if (ctx.cleanup)
			await ctx.cleanup();
	}
}

module.exports = [
	{
		name: 'an allowed origin reads /api/users/me with a token and sees X-Request-Id and ETag (exposed), not Vary',
		async run(ctx) {
			await withServer(ctx, Number(ctx.env.ALLOWED_PORT), async (page) => {
				const got = await page.evaluate(async ({ api, token }) => {
					const h = { Authorization: 'Bearer ' + token, 'X-Request-Id': 'browser-cors-me' };
					const me = await fetch(api + '/api/users/me', { headers: h });
					const one = await fetch(api + '/api/deliverables/3', { headers: h });
					return {
						origin: location.origin,
						me: { status: me.status, body: await me.json(),
						    requestId: me.headers.get('X-Request-Id'), vary: me.headers.get('Vary') },
						one: { status: one.status, etag: one.headers.get('ETag'), body: await one.json() },
					};
				}, { api: ctx.env.STACK_URL, token: ctx.env.TEAM_TOKEN });
				assert.strictEqual(got.origin, 'http://localhost:' + ctx.env.ALLOWED_PORT);
				assert.notStrictEqual(got.origin, new URL(ctx.env.STACK_URL).origin, 'a cross-origin page');
				assert.strictEqual(got.me.status, 200);
				assert.strictEqual(got.me.body.id, 'auth0|seed-team');
				assert.strictEqual(got.me.body.role, 'team');
				assert.strictEqual(got.me.requestId, 'browser-cors-me', 'X-Request-Id is readable');
				assert.strictEqual(got.one.status, 200);
				assert.strictEqual(got.one.etag, '"' + got.one.body.version + '"', 'ETag is readable');
				// The server sends Vary, but it is not exposed: the browser hides it.
				const truth = await direct(ctx, 'GET', '/api/users/me', { headers: { Origin: got.origin } });
				assert.match(truth.headers.get('vary') || '', /Origin/, 'the server sends Vary: Origin');
				assert.strictEqual(got.me.vary, null, 'an unexposed header is hidden by the browser');
			});
		},
	},
	{
		name: 'an allowed origin PATCHes a deliverable with If-Match after a preflight (seen in nginx\'s log); a stale one is 409',
		async run(ctx) {
			const before = JSON.parse((await direct(ctx, 'GET', '/api/deliverables/3')).body);
			const target = before.completion_percentage === 42 ? 43 : 42;
			const offset = logSize();
			await withServer(ctx, Number(ctx.env.ALLOWED_PORT), async (page) => {
				const got = await page.evaluate(async ({ api, token, target }) => {
					const auth = { Authorization: 'Bearer ' + token };
					const one = await fetch(api + '/api/deliverables/3', { headers: auth });
					const etag = one.headers.get('ETag');
					const patch = await fetch(api + '/api/deliverables/3', {
						method: 'PATCH',
						headers: { ...auth, 'Content-Type': 'application/json', 'If-Match': etag },
						body: JSON.stringify({ completion_percentage: target }),
					});
					const stale = await fetch(api + '/api/deliverables/3', {
						method: 'PATCH',
						headers: { ...auth, 'Content-Type': 'application/json', 'If-Match': etag },
						body: JSON.stringify({ completion_percentage: 1 }),
					});
					return {
						etag,
						patch: { status: patch.status, etag: patch.headers.get('ETag'), body: await patch.json() },
						stale: { status: stale.status, body: await stale.json(), requestId: stale.headers.get('X-Request-Id') },
					};
				}, { api: ctx.env.STACK_URL, token: ctx.env.TEAM_TOKEN, target });
				assert.strictEqual(got.etag, '"' + before.version + '"');
				assert.strictEqual(got.patch.status, 200, JSON.stringify(got.patch.body));
				assert.strictEqual(got.patch.body.completion_percentage, target);
				assert.strictEqual(got.patch.etag, '"' + (before.version + 1) + '"', 'the new ETag is readable');
				// The error is readable too (CORS headers on errors).
				assert.strictEqual(got.stale.status, 409);
				assert.strictEqual(got.stale.body.error.code, 'conflict');
				assert.ok(got.stale.requestId, 'X-Request-Id on the error');
			});
			await settle();
			const lines = accessLog(offset).filter((l) => l.path === '/api/deliverables/3');
			const preflight = lines.findIndex((l) => l.method === 'OPTIONS' && l.status === 204);
			const patched = lines.findIndex((l) => l.method === 'PATCH' && l.status === 200);
			assert.ok(preflight >= 0, 'a preflight OPTIONS 204 in the access log: ' + JSON.stringify(lines));
			assert.ok(patched > preflight, 'the PATCH came after the preflight: ' + JSON.stringify(lines));
			const after = JSON.parse((await direct(ctx, 'GET', '/api/deliverables/3')).body);
			assert.strictEqual(after.completion_percentage, target, 'read back: the PATCH applied');
			assert.strictEqual(after.version, before.version + 1, 'read back: once (the stale PATCH changed nothing)');
		},
	},
	{
		name: 'an origin not in CORS_ALLOW_ORIGINS is blocked by the browser (fetch rejects; nothing is changed)',
		async run(ctx) {
			const before = JSON.parse((await direct(ctx, 'GET', '/api/deliverables/5')).body);
			const offset = logSize();
			await withServer(ctx, Number(ctx.env.BLOCKED_PORT), async (page) => {
				const got = await page.evaluate(async ({ api, token, version }) => {
					const outcome = async (p) => {
						try {
							const r = await p;
							return 'resolved ' + r.status;
						} catch (e) {
							return 'rejected ' + e.name;
						}
					};
					const auth = { Authorization: 'Bearer ' + token };
					return {
						origin: location.origin,
						// A simple request: sent, answered, but the page may not read it.
						health: await outcome(fetch(api + '/api/health?probe=blocked-origin')),
						me: await outcome(fetch(api + '/api/users/me', { headers: auth })),
						patch: await outcome(fetch(api + '/api/deliverables/5', {
							method: 'PATCH',
							headers: { ...auth, 'Content-Type': 'application/json', 'If-Match': '"' + version + '"' },
							body: JSON.stringify({ completion_percentage: 7 }),
						})),
					};
				}, { api: ctx.env.STACK_URL, token: ctx.env.TEAM_TOKEN, version: before.version });
				assert.strictEqual(got.origin, 'http://localhost:' + ctx.env.BLOCKED_PORT);
				assert.deepStrictEqual([got.health, got.me, got.patch],
				    ['rejected TypeError', 'rejected TypeError', 'rejected TypeError']);
			});
			await settle();
			const lines = accessLog(offset);
			assert.ok(lines.some((l) => l.method === 'GET' && l.path === '/api/health?probe=blocked-origin' && l.status === 200),
			    'the simple GET reached the API and was answered (the browser blocked the read): ' + JSON.stringify(lines));
			assert.ok(lines.some((l) => l.method === 'OPTIONS' && l.path === '/api/deliverables/5'),
			    'the preflight was sent: ' + JSON.stringify(lines));
			assert.ok(!lines.some((l) => l.method === 'PATCH'), 'the PATCH itself was never sent: ' + JSON.stringify(lines));
			assert.ok(!lines.some((l) => l.method === 'GET' && l.path === '/api/users/me'), 'nor the GET with a token');
			const after = JSON.parse((await direct(ctx, 'GET', '/api/deliverables/5')).body);
			assert.deepStrictEqual(after, before, 'read back: deliverable 5 is unchanged');
			// The same preflight from the allowed origin is answered with CORS headers; from this one, without.
			const pre = await direct(ctx, 'OPTIONS', '/api/deliverables/5', { headers: {
				Origin: 'http://localhost:' + ctx.env.BLOCKED_PORT, 'Access-Control-Request-Method': 'PATCH' } });
			assert.strictEqual(pre.headers.get('access-control-allow-origin'), null);
		},
	},
];
