// run.js - runs every tests/browser/*.test.js in one chromium (playwright-core,
// the system browser: never a downloaded one) and prints TAP. Each test file
// exports an array of { name, run(ctx) }; run throws (assert) to fail.
// Environment: set by browser.sh (STACK_URL, TEAM_TOKEN, CHROMIUM, ...).
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const TEST_TIMEOUT_MS = 90000;

async function main() {
	const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
	const tests = [];
	for (const f of files)
		for (const t of require(path.join(__dirname, f)))
			tests.push({ file: f, ...t });

	const args = ['--disable-dev-shm-usage'];
	if (process.getuid && process.getuid() === 0)
		args.push('--no-sandbox');	// chromium refuses to run its sandbox as root
	let browser;
	try {
		browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args, timeout: 60000 });
	} catch (e) {
		console.log('1..1');
		console.log('not ok 1 - chromium starts (' + process.env.CHROMIUM + ')');
		console.log(String(e.stack || e).split('\n').map((l) => '# ' + l).join('\n'));
		process.exit(1);
	}
	console.log('# ' + process.env.CHROMIUM + ' ' + browser.version());
	let failed = 0;
	let n = 0;
	for (const t of tests) {
		n++;
		const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
		const ctx = { browser, context, env: process.env, notes: [] };
		let timer;
		try {
			await Promise.race([
				t.run(ctx),
				new Promise((_, reject) => {
					timer = setTimeout(() => reject(new Error('timed out after ' + TEST_TIMEOUT_MS + ' ms')), TEST_TIMEOUT_MS);
				}),
			]);
			console.log('ok ' + n + ' - ' + t.name);
		} catch (e) {
			failed++;
			console.log('not ok ' + n + ' - ' + t.name);
			console.log(String(e.stack || e).split('\n').slice(0, 12).map((l) => '# ' + l).join('\n'));
		} finally {
			clearTimeout(timer);
		}
		for (const note of ctx.notes)
			console.log('# ' + note);
		await context.close().catch(() => {});
	}
	await browser.close();
	console.log('1..' + n);
	process.exit(failed ? 1 : 0);
}

main().catch((e) => {
	console.log('Bail out! ' + String(e && e.message || e));
	process.exit(1);
});
