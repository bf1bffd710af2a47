// Real-browser check of a built tokbench site, loaded from disk (file://)
// in Debian's headless chromium driven by playwright-core (no browser
// download: scripts/install-browser installs both).
//
//   node scripts/browser-test/check.mjs SITE_DIR [--screenshot PNG]
//        [--expect FILTER=VALUE:ROWS]... [--chromium PATH]
//
// Checks, on SITE_DIR/index.html:
//   * clicking the Gen tok/s header flips the row order (descending →
//     ascending), clicking again flips it back;
//   * each --expect filter (hw, backend, quant, shape, c) leaves exactly
//     ROWS visible result rows, all matching, and is written to the query
//     string; with a shape selected, Gen tok/s shows that shape's median;
//   * filters given in the query string are applied on load;
//   * no console error, no page error, no request to any other host.
// Exit status 0 when every check passed; failures are printed as FAIL lines.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

function parseArgs(argv) {
  const out = { site: null, screenshot: null, expect: [], chromium: process.env.CHROMIUM || null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--screenshot') out.screenshot = argv[++i];
    else if (a === '--expect') out.expect.push(argv[++i]);
    else if (a === '--chromium') out.chromium = argv[++i];
    else if (!out.site) out.site = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!out.site) throw new Error('usage: check.mjs SITE_DIR [--screenshot PNG] [--expect F=V:N]...');
  return out;
}

function findChromium(given) {
  if (given) return given;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`]).toString().trim();
    } catch { /* next */ }
  }
  throw new Error('no chromium found (run scripts/install-browser)');
}

const failures = [];
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

// Rows of the first results table: [{id, sort, text, hidden}].
async function rows(page) {
  return page.evaluate(() => {
    const t = document.querySelector('table.results');
    return Array.from(t.tBodies[0].rows).map((tr) => ({
      id: tr.cells[0].querySelector('a').getAttribute('href') + '@' + tr.getAttribute('data-c'),
      sort: parseFloat(tr.cells[6].getAttribute('data-sort')),
      text: tr.cells[6].textContent.trim(),
      hidden: tr.hidden,
    }));
  });
}

const monotone = (xs, dir) => xs.every((x, i) => i === 0 || (dir > 0 ? xs[i - 1] <= x : xs[i - 1] >= x));

async function checkSorting(page) {
  const before = await rows(page);
  check(before.length >= 2, `first table has ${before.length} rows (need 2+)`);
  check(monotone(before.map((r) => r.sort), -1), 'rows start sorted by Gen tok/s, descending');
  const th = page.locator('table.results >> nth=0').locator('thead th').nth(6);
  check((await th.textContent()).includes('Gen tok/s'), 'column 7 is Gen tok/s');
  check((await th.getAttribute('title') || '').startsWith('decode_tok_s = (output_tokens − 1)'), 'Gen tok/s header has the methodology definition as its tooltip');
  await th.click();
  const after = await rows(page);
  check(await th.getAttribute('aria-sort') === 'ascending', 'after a click the header says ascending');
  check(monotone(after.map((r) => r.sort), 1), 'after a click rows are ascending');
  const keys = (rs) => JSON.stringify(rs.map((r) => r.sort));
  const ids = (rs) => JSON.stringify(rs.map((r) => r.id));
  check(keys(after) === keys([...before].reverse()), 'row order flipped (values)');
  check(JSON.stringify(after.map((r) => r.id).sort()) === JSON.stringify(before.map((r) => r.id).sort()), 'same rows after sorting');
  if (new Set(before.map((r) => r.sort)).size === before.length) {
    check(ids(after) === ids([...before].reverse()), 'row order flipped (rows; all values distinct)');
  }
  await th.click();
  const again = await rows(page);
  check(keys(again) === keys(before), 'second click restores descending order');
}

async function allRows(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('table.results tbody tr')).map((tr) => ({
    attrs: { hw: tr.getAttribute('data-hw'), backend: tr.getAttribute('data-backend'), quant: tr.getAttribute('data-quant'), c: tr.getAttribute('data-c') },
    v: tr.getAttribute('data-v').split('|'),
    gen: tr.cells[6].textContent.trim(),
    hidden: tr.hidden,
  })));
}

async function checkFilter(page, spec) {
  const m = /^(hw|backend|quant|shape|c)=(.*):(\d+)$/.exec(spec);
  if (!m) throw new Error(`bad --expect ${spec}`);
  const [, key, value, want] = m;
  await page.locator('form[data-filters] button[type=reset]').click();
  await page.waitForTimeout(20);
  await page.selectOption(`select[data-filter="${key}"]`, value);
  const rs = await allRows(page);
  const shown = rs.filter((r) => !r.hidden);
  check(shown.length === Number(want), `filter ${key}=${value}: ${shown.length} rows shown, expected ${want}`);
  if (key === 'shape') {
    const idx = await page.evaluate((v) => Array.from(document.querySelector('select[data-filter="shape"]').options).findIndex((o) => o.value === v) - 1, value);
    check(shown.every((r) => r.v[idx] !== ''), `filter shape=${value}: every shown row measured it`);
    check(shown.every((r) => r.gen === (r.v[idx].split(',')[0] || '—')), `filter shape=${value}: Gen tok/s shows that shape's median`);
    check(rs.filter((r) => r.hidden).every((r) => r.v[idx] === ''), `filter shape=${value}: every hidden row lacks it`);
  } else {
    check(shown.every((r) => r.attrs[key] === value), `filter ${key}=${value}: every shown row matches`);
    check(rs.filter((r) => r.hidden).every((r) => r.attrs[key] !== value), `filter ${key}=${value}: every hidden row differs`);
  }
  const search = await page.evaluate(() => location.search);
  check(search.includes(`${key}=${encodeURIComponent(value)}`), `filter ${key}=${value} is in the address (${search})`);
  const more = await page.evaluate(() => Array.from(document.querySelectorAll('a.keep-query')).map((a) => a.getAttribute('href')));
  check(more.every((h) => h.includes(`${key}=`)), 'links to family pages carry the filter');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const index = resolve(args.site, 'index.html');
  if (!existsSync(index)) throw new Error(`${index} does not exist`);
  const sandbox = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--no-sandbox'] : [];
  const browser = await chromium.launch({ executablePath: findChromium(args.chromium), headless: true, args: sandbox });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = [];
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith('file:') && !url.startsWith('data:') && !url.startsWith('about:')) problems.push(`request to another host: ${url}`);
    });
    const url = pathToFileURL(index).href;
    await page.goto(url);
    await checkSorting(page);
    for (const spec of args.expect) await checkFilter(page, spec);

    // Filters in the query string apply on load.
    const first = args.expect.find((e) => !e.startsWith('shape='));
    if (first) {
      const [, key, value, want] = /^(\w+)=(.*):(\d+)$/.exec(first);
      await page.goto(`${url}?${key}=${encodeURIComponent(value)}`);
      const sel = await page.locator(`select[data-filter="${key}"]`).inputValue();
      const shown = (await allRows(page)).filter((r) => !r.hidden).length;
      check(sel === value && shown === Number(want), `?${key}=${value} on load: select=${sel}, ${shown} rows shown`);
    }
    await page.goto(url);
    const total = (await allRows(page)).length;
    const visible = (await allRows(page)).filter((r) => !r.hidden).length;
    check(total === visible, `unfiltered: all ${total} rows shown`);
    if (args.screenshot) {
      await page.screenshot({ path: args.screenshot, fullPage: true });
      console.log(`screenshot: ${args.screenshot}`);
    }
    for (const p of problems) check(false, p);
    check(problems.length === 0, 'no console errors, page errors or requests to other hosts');
  } finally {
    await browser.close();
  }
  if (failures.length) {
    console.log(`${failures.length} check(s) failed`);
    process.exit(1);
  }
  console.log('all browser checks passed');
}

main().catch((e) => { console.error(`FAIL ${e.stack || e}`); process.exit(1); });
