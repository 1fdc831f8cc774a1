// Browser tests of the admin dashboard in headless Debian Chromium
// (playwright-core, no downloaded browser): log in through the form, open
// every page, compare key figures with the JSON API, check that the charts
// are drawn, that user data is escaped, flush a namespace from the cache
// page, log out. Screenshots of every page (wide and narrow) go to
// tests/output/screenshots/ for review.
//
//   TALLY_URL=http://127.0.0.1:18080 TALLY_CONF=var/test/tallyd.conf node tests/browser/admin.test.mjs
//
// Needs a running stack with migrations applied (scripts/test runs it against
// the test stack); creates its own admin user, token and users.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BASE = process.env.TALLY_URL || 'http://127.0.0.1:18080';
const CONF = process.env.TALLY_CONF || '';
const CTL = process.env.TALLYCTL || path.join(ROOT, 'app', 'tallyctl');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'tests', 'output', 'screenshots');
const EVIL_NAME = '<script>alert(1)</script> Evil ' + randomBytes(3).toString('hex');
const EVIL_MERCHANT = '<img src=x onerror=alert(2)>';

function ctl(args, input) {
  const out = execFileSync(CTL, [...(CONF ? ['-c', CONF] : []), ...args], { input, encoding: 'utf8' });
  return out.trim().split('\n').pop();
}

async function api(method, urlPath, token, body) {
  const headers = { Authorization: 'Bearer ' + token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(BASE + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${urlPath}: ${r.status} ${text}`);
  return JSON.parse(text);
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

const results = [];
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push([name, true]);
    console.log(`PASS ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

async function textOf(page, selector) {
  return (await page.locator(selector).first().textContent()).trim();
}

// Per canvas: [data points, sum of the values] of its Chart.js chart
// ([0, 0] = no chart on that canvas).
async function chartPoints(page) {
  return page.evaluate(() => [...document.querySelectorAll('canvas')].map((c) => {
    const ch = window.Chart && window.Chart.getChart(c);
    if (!ch) return [0, 0];
    return [ch.data.datasets.reduce((n, d) => n + d.data.length, 0),
      ch.data.datasets.reduce((n, d) => n + d.data.reduce((a, v) => a + Number(v), 0), 0)];
  }));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Job counts move while the job runner works: compares the page with the
// JSON read just before and just after it, retrying while they differ.
async function stableCheck(load, readJson, compare, what) {
  for (let i = 0; i < 5; i++) {
    const before = await readJson();
    await load();
    const after = await readJson();
    if (JSON.stringify(before) !== JSON.stringify(after)) { await sleep(200); continue; }
    return compare(after);
  }
  throw new Error(what + ': the JSON kept moving');
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const username = 'browser-' + randomBytes(4).toString('hex');
  const password = randomBytes(12).toString('hex');
  ctl(['admin', 'create', '--username', username], password + '\n');
  const admin = ctl(['token', 'create', '--admin', '--label', 'browser-test']);
  const evil = await api('POST', '/api/v1/users', admin, { name: EVIL_NAME, currency: 'EUR', language: 'fr' });
  await api('POST', `/api/v1/users/${evil.id}/transactions`, admin, [
    { external_id: 'browser-1', date: '2026-10-03', amount: '-12.34', currency: 'EUR', merchant: EVIL_MERCHANT, category: 'Shopping' },
  ]);

  // A job that fails once and is dead at once (max_attempts 1): a row in the
  // failures table with a Retry button, a non-zero bar in the jobs chart.
  const deadJob = await api('POST', '/api/v1/admin/jobs', admin, { kind: 'fail', max_attempts: 1, priority: 'high' });
  const findJob = async (id) => (await api('GET', '/api/v1/admin/jobs?kind=fail&limit=100', admin)).items.find((j) => j.id === id);
  for (let i = 0; ; i++) {
    const j = await findJob(deadJob.id);
    if (j && j.status === 'dead') { deadJob.started_at = j.started_at; break; }
    if (i === 100) throw new Error(`job ${deadJob.id} not dead after 10 s (is the job runner on?)`);
    await sleep(100);
  }

  // A dataset with an escaped-looking value, one transform: two versions, a lineage edge.
  const csvResp = await fetch(BASE + '/api/v1/datasets?name=browser-' + randomBytes(3).toString('hex'), {
    method: 'POST', headers: { Authorization: 'Bearer ' + admin, 'Content-Type': 'text/csv' },
    body: 'k,note\n1,' + EVIL_MERCHANT.replace(/,/g, ' ') + '\n2,b\n2,b\n' });
  check(csvResp.status === 201, `dataset upload: ${csvResp.status}`);
  const dataset = await csvResp.json();
  await api('POST', `/api/v1/datasets/${dataset.dataset_id}/versions/1/transform`, admin, { steps: [{ op: 'dedupe' }] });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const consoleErrors = [];
  const dialogs = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) consoleErrors.push(`${page.url()}: HTTP ${r.status()} for ${r.url()}`); });
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });

  async function open(urlPath, shot) {
    const before = consoleErrors.length;
    const resp = await page.goto(BASE + urlPath);
    check(resp.status() === 200, `${urlPath}: HTTP ${resp.status()}`);
    await page.waitForLoadState('load');
    await page.screenshot({ path: path.join(SHOTS, shot + '.png'), fullPage: true });
    check(consoleErrors.length === before, `console errors on ${urlPath}: ${consoleErrors.slice(before).join(' | ')}`);
  }

  try {
    await step('unauthenticated /admin/ redirects to the login page', async () => {
      const resp = await page.goto(BASE + '/admin/');
      check(new URL(page.url()).pathname === '/admin/login', `landed on ${page.url()}`);
      check(resp.status() === 200, `login page HTTP ${resp.status()}`);
      const from = resp.request().redirectedFrom();
      check(from && new URL(from.url()).pathname === '/admin/', 'no redirect from /admin/');
      const r = await from.response();
      check(r && r.status() >= 300 && r.status() < 400, `redirect status ${r && r.status()}`);
      check(await page.locator('input[name=password][type=password]').count() === 1, 'password field');
      await page.screenshot({ path: path.join(SHOTS, 'login.png'), fullPage: true });
    });

    await step('log in through the form', async () => {
      await page.fill('input[name=username]', username);
      await page.fill('input[name=password]', password);
      await Promise.all([page.waitForURL(BASE + '/admin/'), page.click('form.login button[type=submit]')]);
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'tally_admin');
      check(session && session.httpOnly && session.sameSite === 'Strict' && session.path === '/admin',
        'session cookie: ' + JSON.stringify(session));
    });

    await step('overview: figures match the JSON API, charts drawn', async () => {
      await open('/admin/', 'overview');
      const o = await api('GET', '/api/v1/admin/overview', admin);
      check(await textOf(page, '#count-users') === String(o.counts.users), 'users count');
      check(await textOf(page, '#count-transactions') === String(o.counts.transactions), 'transactions count');
      check(await textOf(page, '#count-metrics') === String(o.counts.metrics), 'metrics count');
      const w = await api('GET', '/api/v1/admin/workers', admin);
      const ibt = (await textOf(page, '#workers-ibt')).split('/').map((s) => Number(s.trim()));
      check(ibt[2] === w.total && ibt[0] >= 1, `workers ${ibt} vs total ${w.total}`);
      const points = await chartPoints(page);
      check(points.length >= 2 && points.every(([n, sum]) => n > 0 && sum > 0), 'charts [points, sum]: ' + JSON.stringify(points));
      const dead = await textOf(page, 'table.kv tr:has(th:text-is("dead")) td');
      check(Number(dead) >= 1, 'dead jobs on the overview: ' + dead);
    });

    await step('charts: log latency axis, integer ticks, bounded sizes (wide and narrow)', async () => {
      await open('/admin/', 'overview');
      const scales = async (p) => p.evaluate(() => Object.fromEntries([...document.querySelectorAll('canvas')].map((c) => {
        const ch = window.Chart && window.Chart.getChart(c);
        const r = c.getBoundingClientRect();
        return [c.id, ch ? { y: ch.options.scales.y.type, precision: ch.options.scales.y.ticks.precision,
          w: Math.round(r.width), h: Math.round(r.height) } : null];
      })));
      const wide = await scales(page);
      check(wide['chart-latency'] && wide['chart-latency'].y === 'logarithmic', 'latency axis: ' + JSON.stringify(wide));
      check(wide['chart-jobs'] && wide['chart-jobs'].y === 'linear' && wide['chart-jobs'].precision === 0,
        'jobs axis: ' + JSON.stringify(wide['chart-jobs']));
      for (const [id, c] of Object.entries(wide)) check(c && c.w <= 660 && c.h <= 260 && c.h >= 150, `${id} at 1280 px: ${JSON.stringify(c)}`);
      await open('/admin/cache', 'cache');
      const cache = (await scales(page))['chart-cache'];
      check(cache && cache.precision === 0 && cache.w <= 660, 'cache chart: ' + JSON.stringify(cache));
      const narrow = await browser.newContext({ viewport: { width: 375, height: 800 }, storageState: await context.storageState() });
      const p = await narrow.newPage();
      await p.goto(BASE + '/admin/');
      for (const [id, c] of Object.entries(await scales(p))) check(c && c.w <= 360 && c.h <= 220, `${id} at 375 px: ${JSON.stringify(c)}`);
      await narrow.close();
    });

    await step('dashboard 404: an HTML page in the layout, not JSON', async () => {
      const p = await context.newPage();   /* not `page`: its listeners count every 404 as an error */
      const resp = await p.goto(BASE + '/admin/nope');
      check(resp.status() === 404, `HTTP ${resp.status()}`);
      check(resp.headers()['content-type'].startsWith('text/html'), 'content type ' + resp.headers()['content-type']);
      check(await p.locator('header.top nav a[href="/admin/jobs"]').count() === 1, 'no dashboard navigation on the 404 page');
      check((await p.locator('p.alert').first().textContent()).trim().startsWith('404'), 'alert text');
      await p.screenshot({ path: path.join(SHOTS, 'not-found.png'), fullPage: true });
      await p.close();
    });

    await step('cache page: namespaces and servers match the JSON API, chart drawn', async () => {
      await open('/admin/cache', 'cache');
      const s = await api('GET', '/api/v1/admin/cache/stats', admin);
      check(s.namespaces.length >= 5, 'namespaces in JSON');
      for (const ns of s.namespaces) check(await page.locator(`#ns-${ns.namespace}`).count() === 1, 'row of ' + ns.namespace);
      check(s.servers.length >= 1, 'servers in JSON');
      const headings = await page.locator('section.server h3').allTextContents();
      check(s.servers.some((srv) => srv.up), 'no memcached server up in JSON');
      for (const srv of s.servers) {
        check(headings.some((t) => t.includes(srv.server)), `server ${srv.server} not on the page: ${headings}`);
        const sec = page.locator('section.server', { hasText: srv.server }).first();
        check(await sec.locator(srv.up ? 'h3 span.up' : 'h3 span.down').count() === 1, `server ${srv.server} up=${srv.up}`);
      }
      check(await page.locator('table.slabs tbody tr').count() > 0, 'slab table rows');
      const points = await chartPoints(page);
      check(points.length >= 1 && points.every(([n, sum]) => n > 0 && sum > 0), 'charts [points, sum]: ' + JSON.stringify(points));
    });

    await step('users page: search finds the user, names escaped', async () => {
      await open('/admin/users', 'users');
      await open('/admin/users?q=' + encodeURIComponent(EVIL_NAME.slice(-10)), 'users-search');
      const names = await page.locator('td.name').allTextContents();
      check(names.length === 1 && names[0].trim() === EVIL_NAME, 'search result: ' + JSON.stringify(names));
      check((await page.textContent('body')).includes('<script>alert(1)</script>'), 'name not shown as text');
      check(await page.locator('script:text("alert(1)")').count() === 0, 'a script element from user data');
      check(!(await page.content()).includes('<script>alert(1)</script>'), 'raw <script> in the DOM');
      check(dialogs.length === 0, 'dialogs opened: ' + JSON.stringify(dialogs));
    });

    await step('user page: profile, metrics, transactions; merchant escaped', async () => {
      await open(`/admin/users/${evil.id}`, 'user');
      check((await textOf(page, 'h2.name')) === EVIL_NAME, 'user name heading');
      check(await textOf(page, '#user-transactions') === '1', 'transaction count');
      const merchants = await page.locator('td.merchant').allTextContents();
      check(merchants.map((t) => t.trim()).includes(EVIL_MERCHANT), 'merchant text: ' + JSON.stringify(merchants));
      check(await page.locator('img[src="x"]').count() === 0, 'an img element from user data');
      const body = await page.textContent('body');
      check(body.includes('<script>alert(1)</script>') && body.includes(EVIL_MERCHANT), 'name or merchant not shown as text');
      const html = await page.content();
      check(!html.includes('<img src=x onerror') && !html.includes('<script>alert(1)</script>'), 'raw tag from user data in the DOM');
      check(dialogs.length === 0, 'dialogs opened: ' + JSON.stringify(dialogs));
    });

    await step('jobs page: queue depths match the JSON API, retry a dead job', async () => {
      await stableCheck(() => open('/admin/jobs', 'jobs'),
        async () => (await api('GET', '/api/v1/admin/overview', admin)).jobs,
        async (jobs) => {
          // The page has one row per status that has jobs, none for the others (a missing row is
          // only right when the JSON says 0); the dead job makes at least one row required.
          check(jobs.dead >= 1, `dead count ${jobs.dead} with a dead job set up`);
          for (const [status, n] of Object.entries(jobs)) {
            const rows = await page.locator(`#depth-${status}`).count();
            check(rows === (n > 0 ? 1 : 0), `rows for ${status}: ${rows}, JSON count ${n}`);
            if (rows === 1) {
              const shown = Number((await page.locator(`#depth-${status} td`).nth(1).textContent()).trim());
              check(shown === n, `depth of ${status}: page ${shown}, JSON ${n}`);
            }
          }
        }, 'job counts');
      const row = page.locator(`#job-${deadJob.id}`);
      check(await row.count() === 1, `dead job ${deadJob.id} not in the failures table`);
      check((await row.locator('td').nth(2).textContent()).trim() === 'dead', 'status of the dead job');
      await Promise.all([page.waitForURL(/\/admin\/jobs\?retried=/), row.locator('button[type=submit]').click()]);
      check((await textOf(page, 'p.ok')).includes(`Job ${deadJob.id} queued again`), 'retry confirmation');
      // Queued again: the runner starts it once more (and it fails again).
      let j;
      for (let i = 0; i < 50; i++) {
        j = await findJob(deadJob.id);
        if (j.status === 'queued' || j.started_at !== deadJob.started_at) break;
        await sleep(100);
      }
      check(j.status === 'queued' || j.started_at !== deadJob.started_at, 'job not run again after retry: ' + JSON.stringify(j));
    });

    await step('opportunities page: tier counts match the JSON API, charts drawn, filter, one with its score details', async () => {
      const owner = await api('POST', '/api/v1/users', admin, { name: 'Opportunity owner', currency: 'EUR', language: 'en' });
      await api('PUT', `/api/v1/opportunities/preferences?user_id=${owner.id}`, admin, { keywords: { rust: 35, kafka: 10 } });
      const evilTitle = '<img src=x onerror=alert(3)> Rust lead';
      const made = [];
      for (const title of [evilTitle, 'Kafka engineer', 'Office manager']) {
        made.push(await api('POST', '/api/v1/opportunities', admin, { user_id: owner.id, title }));
      }
      for (let i = 0; ; i++) {
        const rows = await Promise.all(made.map((m) => api('GET', `/api/v1/opportunities/${m.id}`, admin)));
        if (rows.every((r) => r.scored_at !== null)) break;
        if (i === 100) throw new Error('opportunities not scored after 10 s (is the job runner on?)');
        await sleep(100);
      }
      await stableCheck(() => open('/admin/opportunities', 'opportunities'),
        async () => (await api('GET', '/api/v1/opportunities/stats', admin)).by_tier,
        async (byTier) => {
          for (const [tier, n] of Object.entries(byTier)) {
            const shown = Number((await page.locator(`#tier-${tier} td`).nth(1).textContent()).trim());
            check(shown === n, `tier ${tier}: page ${shown}, JSON ${n}`);
          }
          const points = await chartPoints(page);
          const total = Object.values(byTier).reduce((a, v) => a + v, 0);
          check(points.length === 2 && points[0][0] === 4 && points[0][1] === total, 'tier chart: ' + JSON.stringify(points));
          check(points[1][0] === 10 && points[1][1] === total - byTier.unscored, 'histogram chart: ' + JSON.stringify(points));
        }, 'opportunity counts');
      check(await page.locator('img[src="x"]').count() === 0, 'an img element from an opportunity title');
      await page.selectOption('#opp-filters select[name=tier]', 'A');
      await Promise.all([page.waitForURL(/tier=A/), page.click('#opp-filters button[type=submit]')]);
      const tiers = (await page.locator('#opp-list tbody tr td:nth-child(6)').allTextContents()).map((t) => t.trim());
      check(tiers.length > 0 && tiers.every((t) => t === 'A'), 'tier filter: ' + JSON.stringify(tiers));
      // The row links to the opportunity's page; followed by URL (clicking a row far below
      // the fold timed out now and then in headless Chromium).
      const href = await page.locator(`#opp-${made[0].id} td.name a`).getAttribute('href');
      check(href === `/admin/opportunities/${made[0].id}`, 'row link: ' + href);
      await open(href, 'opportunity');
      check((await textOf(page, '#opp-title')) === evilTitle, 'title shown as text');
      check((await textOf(page, '#opp-score')) === '75 (tier A)', 'score: ' + await textOf(page, '#opp-score'));
      const cells = (await page.locator('#opp-rules tbody td').allTextContents()).map((t) => t.trim());
      check(JSON.stringify(cells) === JSON.stringify(['base', '+40', 'starting score', 'keyword', '+35', '"rust" in the title']),
        'score details: ' + JSON.stringify(cells));
    });

    await step('datasets pages: versions and lineage match the JSON API, pin a version', async () => {
      await open('/admin/datasets', 'datasets');
      await Promise.all([page.waitForURL(new RegExp(`/admin/datasets/${dataset.dataset_id}$`)),
        page.locator(`#dataset-${dataset.dataset_id} a`).first().click()]);
      const versions = (await api('GET', `/api/v1/datasets/${dataset.dataset_id}/versions`, admin)).items;
      check(await page.locator('#versions tbody tr').count() === versions.length, 'one row per version');
      check(await page.locator('#lineage li').count() === 2, 'lineage of v2: upload and one edge');
      check((await textOf(page, '#lineage-2')).includes('v1 → v2') && (await textOf(page, '#lineage-2')).includes('dedupe'),
        'edge v1 → v2 with its step');
      check(await page.locator('#rows img').count() === 0, 'a value is text, not markup');
      await page.goto(BASE + `/admin/datasets/${dataset.dataset_id}?v=1`);
      check((await page.locator('#rows tbody tr').count()) === 3, 'first rows of v1');
      check((await textOf(page, '#rows tbody tr td:nth-child(2)')).includes('<img'), 'value shown escaped');
      await page.screenshot({ path: path.join(SHOTS, 'dataset.png'), fullPage: true });
      await Promise.all([page.waitForURL(/pinned=pinned/), page.locator('#version-1 button[type=submit]').click()]);
      const v1 = await api('GET', `/api/v1/datasets/${dataset.dataset_id}/versions/1`, admin);
      check(v1.pinned === true, 'version 1 pinned through the form');
      await page.locator('form.inline input[name=against]').fill('2');
      await Promise.all([page.waitForURL(/against=2/), page.locator('form.inline button[type=submit]').click()]);
      check((await textOf(page, '#diff-counts')).includes('1 rows only in v1'), 'diff counts shown: ' + await textOf(page, '#diff-counts'));
    });

    await step('learning page: figures match the JSON API, charts drawn, run button, hostile strings escaped', async () => {
      const luser = await api('POST', '/api/v1/users', admin, { name: 'Learner', currency: 'EUR', language: 'fr' });
      const tag = randomBytes(3).toString('hex');
      const evilHost = `evil-${tag}"'<b>x`;
      const evilStyle = '<img src=x onerror=alert(3)>';
      const events = [...Array(5)].map((_, i) => ({ event_id: `b-${tag}-${i}`, host: evilHost, schema_hash: 'h',
        family: 'browser-' + tag, gen_style_id: evilStyle, applied: true, edit_chars: 4, helpful: true,
        job: { title: 'Senior Data Engineer' } }));
      const synced = await api('POST', '/api/extension/learning/sync', admin, { user_id: luser.id, events });
      check(synced.accepted === 5, 'sync: ' + JSON.stringify(synced));
      await open('/admin/learning', 'learning');
      await Promise.all([page.waitForURL(/\/admin\/learning\?(aggregated|skipped)=/), page.click('#learning-aggregate')]);
      const st = await api('GET', '/api/v1/admin/learning/stats', admin);
      check(await textOf(page, '#learning-profiles') === String(st.profiles), 'profiles tile');
      for (const src of ['form', 'segment', 'family', 'none'])
        check(await textOf(page, '#learning-source-' + src) === String(st.sources[src]), src + ' tile');
      const points = await chartPoints(page);
      const sources = st.sources.form + st.sources.segment + st.sources.family + st.sources.none;
      const segments = st.segments.intern + st.segments.junior + st.segments.senior + st.segments.default;
      check(JSON.stringify(points) === JSON.stringify([[4, sources], [4, segments]]), 'charts [points, sum]: ' + JSON.stringify(points));
      await open('/admin/learning?host=' + encodeURIComponent('EVIL-' + tag), 'learning-search');
      check((await textOf(page, 'section.learning-profile .host')) === evilHost, 'host shown as text');
      check((await textOf(page, 'section.learning-profile .style')) === evilStyle, 'style shown as text');
      check((await textOf(page, 'section.learning-profile .explanation')) === 'form: 5 runs \u2265 5 \u2192 form', 'explanation');
      check(await page.locator('img[src="x"]').count() === 0 && await page.locator('b:text-is("x")').count() === 0,
        'an element from user data');
      check(dialogs.length === 0, 'dialogs opened: ' + JSON.stringify(dialogs));
    });

    await step('narrow (375 px) screens: no horizontal page scroll', async () => {
      const narrow = await browser.newContext({ viewport: { width: 375, height: 800 }, storageState: await context.storageState() });
      const p = await narrow.newPage();
      for (const [urlPath, shot] of [['/admin/', 'overview-narrow'], ['/admin/cache', 'cache-narrow'],
        [`/admin/users/${evil.id}`, 'user-narrow'], ['/admin/learning', 'learning-narrow'],
        ['/admin/opportunities', 'opportunities-narrow']]) {
        const resp = await p.goto(BASE + urlPath);
        check(resp.status() === 200, `${urlPath}: HTTP ${resp.status()}`);
        await p.screenshot({ path: path.join(SHOTS, shot + '.png'), fullPage: true });
        const width = await p.evaluate(() => document.documentElement.scrollWidth);
        check(width <= 376, `${urlPath} is ${width} px wide`);
      }
      await narrow.close();
    });

    await step('without JavaScript: log in, pages and forms still work', async () => {
      const nojs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1024, height: 800 } });
      const p = await nojs.newPage();
      await p.goto(BASE + '/admin/login');
      await p.fill('input[name=username]', username);
      await p.fill('input[name=password]', password);
      await Promise.all([p.waitForURL(BASE + '/admin/'), p.click('form.login button[type=submit]')]);
      check(await p.locator('#count-users').count() === 1, 'overview figures without JavaScript');
      await p.goto(BASE + '/admin/cache');
      check(await p.locator('#ns-sessions').count() === 1, 'cache table without JavaScript');
      const form = p.locator('#ns-sessions form.flush');
      await form.locator('input[name=confirm]').check();
      await Promise.all([p.waitForLoadState('load'), form.locator('button[type=submit]').click()]);
      await p.waitForSelector('p.ok');
      check((await p.locator('p.ok').textContent()).includes('sessions'), 'flush confirmation without JavaScript');
      await p.screenshot({ path: path.join(SHOTS, 'cache-nojs.png'), fullPage: true });
      await nojs.close();
    });

    await step('flush a namespace from the cache page: its counters reset', async () => {
      // Traffic in the profiles namespace: a miss + set, then a hit.
      await api('GET', `/api/v1/users/${evil.id}/profile`, admin);
      await api('GET', `/api/v1/users/${evil.id}/profile`, admin);
      const ns = (s) => s.namespaces.find((n) => n.namespace === 'profiles').since_start;
      const before = ns(await api('GET', '/api/v1/admin/cache/stats', admin));
      check(before.hits + before.misses + before.sets > 0, 'profiles counters before: ' + JSON.stringify(before));
      await page.goto(BASE + '/admin/cache');
      const form = page.locator('#ns-profiles form.flush');
      await form.locator('input[name=confirm]').check();
      await Promise.all([page.waitForLoadState('load'), form.locator('button[type=submit]').click()]);
      await page.waitForSelector('p.ok');
      check((await textOf(page, 'p.ok')).includes('profiles'), 'flush confirmation');
      await page.screenshot({ path: path.join(SHOTS, 'cache-after-flush.png'), fullPage: true });
      check(await textOf(page, '#ns-profiles td.hits') === '0', 'hits cell after flush');
      const after = ns(await api('GET', '/api/v1/admin/cache/stats', admin));
      check(after.hits === 0 && after.misses === 0 && after.sets === 0, 'profiles counters after: ' + JSON.stringify(after));
      // The next read misses: the flushed entries are not served.
      await api('GET', `/api/v1/users/${evil.id}/profile`, admin);
      const again = ns(await api('GET', '/api/v1/admin/cache/stats', admin));
      check(again.misses === 1 && again.hits === 0, 'after one read: ' + JSON.stringify(again));
    });

    await step('log out, then pages are refused', async () => {
      await page.goto(BASE + '/admin/');
      await Promise.all([page.waitForURL(/\/admin\/login$/), page.click('form.logout button[type=submit]')]);
      await page.goto(BASE + '/admin/cache');
      check(new URL(page.url()).pathname === '/admin/login', 'after logout: ' + page.url());
    });

    await step('no console errors on any page', async () => {
      check(consoleErrors.length === 0, consoleErrors.join('\n'));
    });
  } finally {
    await browser.close();
  }
  const failed = results.filter((r) => !r[1]).length;
  console.log(`\n${results.length - failed} passed, ${failed} failed; screenshots in ${path.relative(ROOT, SHOTS)}/`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
