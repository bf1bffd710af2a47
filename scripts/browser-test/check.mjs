// Real-browser check of a built tokbench site, loaded from disk (file://)
// in Debian's headless chromium driven by playwright-core (no browser
// download: scripts/install-browser installs both).
//
//   node scripts/browser-test/check.mjs SITE_DIR [--screenshot PNG]
//        [--expect FILTER=VALUE:ROWS]... [--family FILTERS:SLUG:MATCHES:SHOWN]...
//        [--nomatch FILTERS]... [--page PATH?QUERY:ROWS]... [--chromium PATH]
//
// Checks, on SITE_DIR/index.html:
//   * clicking the Gen tok/s header flips the row order (descending →
//     ascending), clicking again flips it back;
//   * each --expect filter (hw, backend, quant, shape, c) leaves exactly
//     ROWS visible result rows, all matching, and is written to the query
//     string; with a shape selected, Gen tok/s shows that shape's median;
//   * filters given in the query string are applied on load;
//   * each --family FILTERS:SLUG:MATCHES:SHOWN (FILTERS: F=V[&F=V]…) keeps
//     family SLUG shown when MATCHES of all its rows match (also rows not
//     rendered on the index; hidden when MATCHES is 0), with SHOWN of its
//     rendered rows visible, its summary saying "(MATCHES of N results
//     match)" and, when the index lacks some of its rows, its "more" line
//     giving MATCHES and linking to the family page with the filters; the
//     same on load from the query string; clearing the filters restores
//     the unfiltered page text exactly;
//   * each --nomatch FILTERS hides every family and shows "No result
//     matches these filters.";
//   * each --page PATH?QUERY:ROWS loads another page of the site (e.g. a
//     family page) with QUERY and finds ROWS visible result rows;
//   * no console error, no page error, no request to any other host.
// Exit status 0 when every check passed; failures are printed as FAIL lines.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

function parseArgs(argv) {
  const out = { site: null, screenshot: null, expect: [], family: [], nomatch: [], page: [], chromium: process.env.CHROMIUM || null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--screenshot') out.screenshot = argv[++i];
    else if (a === '--expect') out.expect.push(argv[++i]);
    else if (a === '--family') out.family.push(argv[++i]);
    else if (a === '--nomatch') out.nomatch.push(argv[++i]);
    else if (a === '--page') out.page.push(argv[++i]);
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
  check((await th.getAttribute('title') || '').startsWith('decode_tok_s = (output_tokens − first_arrival_tokens)'), 'Gen tok/s header has the methodology definition as its tooltip');
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

// [[key, value]…] of FILTERS (F=V[&F=V]…).
function parseFilters(spec) {
  return spec.split('&').map((kv) => {
    const m = /^(hw|backend|quant|shape|c)=(.+)$/.exec(kv);
    if (!m) throw new Error(`bad filter ${kv} in ${spec}`);
    return [m[1], m[2]];
  });
}
const queryOf = (filters) => filters.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');

async function select(page, filters) {
  await page.locator('form[data-filters] button[type=reset]').click();
  await page.waitForTimeout(20);
  for (const [key, value] of filters) await page.selectOption(`select[data-filter="${key}"]`, value);
}

// What the page shows of family SLUG, and whether "no result" shows.
async function familyState(page, slug) {
  return page.evaluate((slug) => {
    const d = document.getElementById(`family-${slug}`);
    const more = d.querySelector('p.more');
    const link = more.querySelector('a.keep-query');
    return {
      hidden: d.hidden,
      count: d.querySelector('summary .count').textContent,
      rendered: d.querySelectorAll('tbody tr').length,
      shown: Array.from(d.querySelectorAll('tbody tr')).filter((tr) => !tr.hidden).length,
      tableHidden: d.querySelector('table.results').hidden,
      more: more.textContent,
      href: link.getAttribute('href'),
      none: Array.from(document.querySelectorAll('.none')).every((p) => p.hidden),
    };
  }, slug);
}

function checkFamilyState(st, spec, slug, matches, shown, query, when) {
  const what = `${when} ${spec}:`;
  if (matches === 0) {
    check(st.hidden, `${what} family ${slug} hidden`);
    return;
  }
  check(!st.hidden, `${what} family ${slug} shown`);
  check(st.shown === shown, `${what} ${st.shown} of its rendered rows shown, expected ${shown}`);
  check(st.tableHidden === (shown === 0), `${what} its table ${st.tableHidden ? 'hidden' : 'shown'}`);
  const count = new RegExp(`^\\(${matches} of \\d+ results? match(es)?\\)$`);
  check(count.test(st.count), `${what} summary says ${st.count}`);
  const all = Number(/of (\d+)/.exec(st.count)?.[1]);
  if (all > st.rendered) {
    const says = matches === shown ? st.more.startsWith(`All ${matches} matching result`)
      : matches === 1 ? st.more.includes('one matching result') && st.more.includes('see it on the family page')
        : st.more.includes(`${matches} matching results`) && st.more.includes(`all ${matches} on the family page`);
    check(says, `${what} more line: ${st.more}`);
  }
  check(st.href === `family/${slug}.html?${query}`, `${what} family link ${st.href}`);
  check(st.none, `${what} "no result" hidden`);
}

async function checkFamilies(page, url, specs) {
  if (!specs.length) return;
  await page.goto(url);
  const pristine = await page.evaluate(() => document.querySelector('main').innerText);
  for (const spec of specs) {
    const m = /^(.+):([^:]+):(\d+):(\d+)$/.exec(spec);
    if (!m) throw new Error(`bad --family ${spec}`);
    const [, f, slug, matches, shown] = m;
    const filters = parseFilters(f);
    await select(page, filters);
    checkFamilyState(await familyState(page, slug), spec, slug, Number(matches), Number(shown), queryOf(filters), 'filter');
  }
  await page.locator('form[data-filters] button[type=reset]').click();
  await page.waitForTimeout(20);
  const cleared = await page.evaluate(() => document.querySelector('main').innerText);
  check(cleared === pristine, 'after Clear the index reads exactly as before filtering');
  for (const spec of specs) {
    const [, f, slug, matches, shown] = /^(.+):([^:]+):(\d+):(\d+)$/.exec(spec);
    const query = queryOf(parseFilters(f));
    await page.goto(`${url}?${query}`);
    checkFamilyState(await familyState(page, slug), spec, slug, Number(matches), Number(shown), query, 'on load');
  }
}

async function checkNoMatch(page, url, spec) {
  await page.goto(url);
  await select(page, parseFilters(spec));
  const st = await page.evaluate(() => ({
    families: Array.from(document.querySelectorAll('details.family')).filter((d) => !d.hidden).length,
    none: Array.from(document.querySelectorAll('.none')).some((p) => !p.hidden),
  }));
  check(st.families === 0 && st.none, `nomatch ${spec}: ${st.families} families shown, "no result" ${st.none ? 'shown' : 'hidden'}`);
}

async function checkPage(page, site, spec) {
  const m = /^([^?]+)\?(.*):(\d+)$/.exec(spec);
  if (!m) throw new Error(`bad --page ${spec}`);
  const [, rel, query, want] = m;
  await page.goto(`${pathToFileURL(resolve(site, rel)).href}?${query}`);
  const rs = await allRows(page);
  const shown = rs.filter((r) => !r.hidden).length;
  const none = await page.evaluate(() => Array.from(document.querySelectorAll('.none')).some((p) => !p.hidden));
  check(shown === Number(want) && none === (shown === 0), `${rel}?${query}: ${shown} of ${rs.length} rows shown, expected ${want}; "no result" ${none ? 'shown' : 'hidden'}`);
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
    await checkFamilies(page, url, args.family);
    for (const spec of args.nomatch) await checkNoMatch(page, url, spec);
    for (const spec of args.page) await checkPage(page, args.site, spec);
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
