import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { orderWorkflowId } from '../src/orders/workflow-api';
import { eventually } from './support/eventually';
import { REPO_ROOT } from './support/run-command';
import { startPrivateNats, type PrivateNats } from './support/private-nats';
import { startTestSystem, type TestSystem } from './support/system';
import { startWebUiServer, type WebUiServer } from './support/web-ui-server';

/** Debian's chromium package (`.ci/run` installs it); playwright-core drives it, no download. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The README's picture, written only when asked (UPDATE_SCREENSHOT=1): a test run leaves the tree clean. */
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === '1' ? path.join(REPO_ROOT, 'docs/img/web-ui-order.png') : undefined;
const UI_TIMEOUT_MS = 30_000;

let server: WebUiServer;
let nats: PrivateNats;
let system: TestSystem;
let browser: Browser;

beforeAll(async () => {
  // Services of its own (Temporal with its UI, NATS, a database): the run's audit never sees this order.
  server = await startWebUiServer();
  nats = await startPrivateNats();
  system = await startTestSystem({
    TEMPORAL_ADDRESS: server.address,
    DATABASE_URL: server.databaseUrl,
    NATS_URL: nats.url,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await system?.stop();
  await Promise.all([server?.stop(), nats?.stop()]);
});

/** The Web UI's page for `path` under the default namespace. */
async function open(page: Page, uiPath: string): Promise<void> {
  await page.goto(`${server.uiUrl}/namespaces/default/${uiPath}`);
}

describe('the Temporal Web UI', () => {
  it("tells a paid order's story: found by status, with its summary, payment signal and getOrder result", async () => {
    const keyboard = await system.nest.send<{ id: number }>('products.create', { name: 'Keyboard', price: 49.99 });
    const mouse = await system.nest.send<{ id: number }>('products.create', { name: 'Mouse', price: 19.9 });
    const { order } = await system.client.place([
      { productId: keyboard.id, quantity: 2 },
      { productId: mouse.id, quantity: 1 },
    ]);
    const payment = await system.client.pay(order.id);
    await system.client.waitForStatus(order.id, 'PAID');
    const workflowId = orderWorkflowId(order.id);
    // Visibility follows the workflow a moment later: the list is opened once it has the order.
    const query = `OrderStatus="PAID" AND WorkflowId="${workflowId}"`;
    await eventually(async () => {
      const { count } = await system.temporal.workflow.count(query);
      if (count !== 1) throw new Error(`${workflowId} not yet listed as PAID`);
    });

    // Each step carries its summary (user metadata on the local-activity markers).
    const history = await system.temporal.workflow.getHandle(workflowId).fetchHistory();
    const summaries = (history.events ?? []).flatMap((event) => {
      const data = event.userMetadata?.summary?.data;
      return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as string] : [];
    });
    expect(summaries).toEqual(
      expect.arrayContaining([
        'validate and store 2 products',
        'open checkout session',
        `record payment ${payment.stripePaymentId}`,
      ]),
    );

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    await open(page, `workflows?query=${encodeURIComponent('OrderStatus="PAID"')}`);
    await page.getByRole('link', { name: workflowId }).first().click();

    await page.getByText(`Order ${order.id}: 2 items`).first().waitFor();
    await page.getByText('paymentSucceeded').filter({ visible: true }).first().waitFor();
    expect((await page.screenshot({ path: SCREENSHOT, fullPage: true })).length).toBeGreaterThan(0);

    await page.getByText('Queries', { exact: true }).first().click();
    // The tab preselects the first query type (getOrder: the stack-trace queries are built in).
    await page.getByRole('button', { name: 'Run Query' }).click();
    await page.getByText(payment.stripePaymentId).filter({ visible: true }).first().waitFor();
    await page.close();
  });
});
