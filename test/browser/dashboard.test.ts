import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createApp } from '../../functions/http/app';
import { type ServedApi, serveApp } from '../../functions/http/server';
import { type Embedded, startEmbedded } from '../../local/kasync';

const SCREENSHOT = path.resolve(__dirname, '../../test-output/dashboard.png');

/** Debian's chromium (`.ci/run` installs it), headless, with nothing that reaches the network. */
const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

/** Waits until a JavaScript expression is truthy in the page (the test's tsconfig has no DOM types). */
const until = (page: Page, expression: string, timeout = 60_000) =>
  page.waitForFunction(expression, undefined, { timeout });

const count = (selector: string) => `document.querySelectorAll(${JSON.stringify(selector)}).length`;
const points = (chart: string) => `Number(document.querySelector('#chart-${chart}').dataset.points || 0)`;

/**
 * The dashboard in a real browser: start a job from the form, watch its charts and learner
 * timeline fill while it runs, and keep a screenshot of the finished job.
 */
describe('dashboard', () => {
  let embedded: Embedded;
  let served: ServedApi;
  let browser: Browser;

  beforeAll(async () => {
    // A short Lambda timeout: learners hand over to new invocations within the job.
    embedded = await startEmbedded({ learnerTimeoutSeconds: 6, maxLearners: 8 });
    served = await serveApp(createApp(embedded), 0);
    browser = await chromium.launch(CHROMIUM);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await embedded?.stop();
  });

  it('starts a job from the form, draws its charts and learner timeline live, and offers the model', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${served.url}/`);

    // The form's choices come from /openapi.json.
    await until(page, `${count('select[name="variant"] option')} === 6`);
    const form = page.locator('#job-form');

    // A spec the API refuses: its message shows, naming the field.
    await form.locator('[name="lr.eta"]').fill('-1');
    await page.click('#start');
    await until(page, `document.querySelector('#form-error').textContent.startsWith('lr.eta:')`);

    await form.locator('[name="model"]').selectOption('softmax');
    await form.locator('[name="variant"]').selectOption('k-async');
    await form.locator('[name="learners"]').fill('4');
    await form.locator('[name="k"]').fill('2');
    await form.locator('[name="batchSize"]').fill('32');
    await form.locator('[name="lr.schedule"]').selectOption('staleness');
    await form.locator('[name="lr.eta"]').fill('0.3');
    await form.locator('[name="stragglers.distribution"]').selectOption('pareto');
    await form.locator('[name="stragglers.scale"]').fill('0.02');
    await form.locator('[name="stragglers.shape"]').fill('1.5');
    await form.locator('[name="stop.maxUpdates"]').fill('150');
    await form.locator('[name="evalEvery"]').fill('10');
    await page.click('#start');

    await until(page, `/^#job-/.test(location.hash) && !document.querySelector('#job').hidden`);
    const jobId = (await page.evaluate('location.hash.slice(1)')) as string;
    expect(await page.textContent('#form-error')).toBe('');
    expect(await page.getAttribute('#download', 'href')).toBe(`/jobs/${jobId}/model`);
    await until(page, count(`#jobs tr[data-job-id="${jobId}"]`));

    // Live: while the job runs, the charts get points and the timeline its four learners.
    await until(page, `${points('loss')} >= 2 && ${points('accuracy')} >= 2`);
    await until(page, `${count('#timeline [data-learner]')} === 4`);
    expect(await page.textContent('#job-status')).toBe('RUNNING');

    // Finished, with every invocation recorded: the timeline has no running bar left.
    // On a loaded 2-core CI machine (the whole suite runs beside it) 150 updates have taken over 60 s.
    await until(
      page,
      `document.querySelector('#job-status').textContent === 'DONE' && ${count('#timeline .running')} === 0`,
      120_000,
    );
    expect(await page.isDisabled('#stop')).toBe(true);
    for (const chart of ['loss', 'rate', 'staleness'])
      expect(Number(await page.getAttribute(`#chart-${chart}`, 'data-points'))).toBe(150);
    expect(Number(await page.getAttribute('#chart-accuracy', 'data-points'))).toBe(15);
    expect(Number(await page.getAttribute('#chart-histogram', 'data-points'))).toBeGreaterThanOrEqual(2);
    const invocations = await page.$$eval('#timeline [data-learner]', (rows) =>
      rows.map((row) => Number(row.getAttribute('data-invocations'))),
    );
    expect(invocations).toHaveLength(4);
    for (const n of invocations) expect(n).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#timeline .cold').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#timeline .tick').count()).toBe(300);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
