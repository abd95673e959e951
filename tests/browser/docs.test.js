// docs.test.js - GET /api/docs in a real browser: Swagger UI renders every
// operation of the served contract, loads nothing from another origin (and
// breaks no rule of its Content-Security-Policy), and "Try it out" with a
// bearer token from Authorize calls the API on the same origin.
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');

// Opens the docs page, recording every request and every console error.
async function openDocs(ctx) {
	const page = await ctx.context.newPage();
	const seen = { requests: [], failed: [], errors: [] };
	page.on('request', (r) => seen.requests.push({ url: r.url(), headers: r.headers() }));
	page.on('requestfailed', (r) => seen.failed.push(r.url() + ' ' + (r.failure() || {}).errorText));
	page.on('console', (m) => { if (m.type() === 'error') seen.errors.push(m.text()); });
	page.on('pageerror', (e) => seen.errors.push(String(e)));
	const res = await page.goto(ctx.env.STACK_URL + '/api/docs', { waitUntil: 'load' });
	assert.strictEqual(res.status(), 200, 'GET /api/docs status');
	await page.waitForSelector('.opblock .opblock-summary-path', { timeout: 30000 });
	return { page, seen };
}

// The operations of the served contract, as "METHOD path".
async function contractOperations(url) {
	const doc = await (await fetch(url + '/api/openapi.json')).json();
	const ops = [];
	for (const [p, item] of Object.entries(doc.paths))
		for (const m of Object.keys(item))
			if (['get', 'put', 'post', 'delete', 'patch'].includes(m))
				ops.push(m.toUpperCase() + ' ' + p);
	return ops.sort();
}

module.exports = [
	{
		name: 'the docs page renders every operation of /api/openapi.json (screenshot under var/screenshots/)',
		async run(ctx) {
			const { page, seen } = await openDocs(ctx);
			const want = await contractOperations(ctx.env.STACK_URL);
			const shown = (await page.$$eval('.opblock', (els) => els.map((el) =>
				el.querySelector('.opblock-summary-method').textContent.trim() + ' ' +
				el.querySelector('.opblock-summary-path').getAttribute('data-path')))).sort();
			assert.deepStrictEqual(shown, want, 'the operations shown are the contract\'s');
			for (const op of ['GET /api/health', 'PATCH /api/deliverables/{id}', 'GET /api/openapi.json',
			    'GET /api/docs'])
				assert.ok(shown.includes(op), op + ' is shown');
			const title = await page.textContent('.info .title');
			assert.match(title, /TurboTech Portal API/);
			assert.ok(await page.$('button.authorize'), 'an Authorize button (bearerAuth)');
			fs.mkdirSync(ctx.env.BROWSER_SCREENSHOTS, { recursive: true });
			const shot = path.join(ctx.env.BROWSER_SCREENSHOTS, 'docs.png');
			await page.screenshot({ path: shot, fullPage: true });
			assert.ok(fs.statSync(shot).size > 10000, 'the screenshot has content');
			ctx.notes.push('screenshot: ' + shot + ' (' + shown.length + ' operations rendered)');
			assert.deepStrictEqual(seen.failed, [], 'no request failed');
			assert.deepStrictEqual(seen.errors, [], 'no console error (CSP violations are console errors)');
		},
	},
	{
		name: 'the docs page loads nothing from another origin (every request is same-origin or data:)',
		async run(ctx) {
			const { page, seen } = await openDocs(ctx);
			// Expand one operation with schemas, so lazily loaded parts load too.
			await page.click('#operations-deliverables-getDeliverable .opblock-summary');
			await page.waitForSelector('#operations-deliverables-getDeliverable .responses-wrapper');
			await page.waitForLoadState('networkidle');
			const origin = new URL(ctx.env.STACK_URL).origin;
			const foreign = seen.requests.map((r) => r.url)
			    .filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
			assert.deepStrictEqual(foreign, [], 'requests to other origins');
			const urls = seen.requests.map((r) => new URL(r.url, origin).pathname);
			for (const p of ['/api/docs', '/api/docs/swagger-ui-bundle.js', '/api/docs/swagger-ui.css',
			    '/api/docs/docs.js', '/api/openapi.json'])
				assert.ok(urls.includes(p), p + ' was loaded: ' + urls.join(' '));
			// Fonts: only the system's (no @font-face was loaded).
			const fonts = await page.evaluate(() => Array.from(document.fonts).map((f) => f.family));
			assert.deepStrictEqual(fonts, [], 'web fonts');
			ctx.notes.push('requests: ' + urls.join(' '));
		},
	},
	{
		name: '"Try it out" with a bearer token from Authorize calls GET /api/users/me on the same origin',
		async run(ctx) {
			const { page, seen } = await openDocs(ctx);
			// Without a token: 401 from the API, shown in the page.
			const op = '#operations-users-getMe';
			await page.click(op + ' .opblock-summary');
			await page.click(op + ' .try-out__btn');
			await page.click(op + ' .execute');
			await page.waitForSelector(op + ' .live-responses-table tbody .response-col_status');
			assert.strictEqual((await page.textContent(op + ' .live-responses-table tbody .response-col_status')).trim().slice(0, 3), '401');
			// Authorize with the bearer scheme, then execute again.
			await page.click('.scheme-container button.authorize, .auth-wrapper button.authorize');
			await page.waitForSelector('.modal-ux .auth-container input');
			await page.fill('.modal-ux .auth-container input', ctx.env.TEAM_TOKEN);
			await page.click('.modal-ux .auth-btn-wrapper button.authorize');
			await page.click('.modal-ux button.btn-done, .modal-ux .close-modal');
			await page.click(op + ' .execute');
			await page.waitForFunction((sel) => {
				const el = document.querySelector(sel);
				return el && el.textContent.trim().startsWith('200');
			}, op + ' .live-responses-table tbody .response-col_status', { timeout: 20000 });
			const body = await page.textContent(op + ' .live-responses-table tbody .response-col_description');
			assert.match(body, /auth0\|seed-team/, 'the response is the team user\'s profile');
			const calls = seen.requests.filter((r) => r.url.endsWith('/api/users/me'));
			assert.strictEqual(calls.length, 2, 'two calls of /api/users/me');
			assert.strictEqual(new URL(calls[1].url).origin, new URL(ctx.env.STACK_URL).origin, 'same origin');
			assert.strictEqual(calls[0].headers.authorization, undefined, 'no token before Authorize');
			assert.strictEqual(calls[1].headers.authorization, 'Bearer ' + ctx.env.TEAM_TOKEN, 'the bearer token');
		},
	},
];
