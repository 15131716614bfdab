// Drives the echo-server example's page in headless Chromium: Connect, send a message with
// multi-byte UTF-8, see it echoed, Close Socket, see the close code; then a screenshot.
//
//   node echo-page.test.mjs http://127.0.0.1:5000/ [--screenshot PATH]
//
// Uses the system Chromium (CHROMIUM, default /usr/bin/chromium) through playwright-core and
// never downloads a browser. Exits 0 when every step passed, 1 otherwise; the whole run is
// bounded by TEST_TIMEOUT_MS (default 60 s).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const usage = "usage: node echo-page.test.mjs URL [--screenshot PATH]";
const args = process.argv.slice(2);
const pageUrl = args[0];
const shotAt = args.indexOf("--screenshot");
const screenshot = shotAt >= 0 ? args[shotAt + 1] : join(tmpdir(), "wsproto-echo-page.png");
if (!pageUrl || pageUrl.startsWith("-") || !screenshot) {
  console.error(usage);
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const STEP_MS = 10_000;
const TOTAL_MS = Number(process.env.TEST_TIMEOUT_MS || 60_000);

// The messages typed and expected back: 2-, 3- and 4-byte UTF-8 sequences.
const MESSAGES = ["héllo ✓", "ünïcödé 🦀 テスト"];

setTimeout(() => {
  console.error(`FAIL: the browser test did not finish within ${TOTAL_MS} ms`);
  process.exit(1);
}, TOTAL_MS).unref();

/** The #log lines, one per event. */
async function logLines(page) {
  return page.$$eval("#log > div", (lines) => lines.map((line) => line.textContent));
}

/** Waits until #log has a line equal to `want` (or starting with it when `prefix`). */
async function waitForLine(page, want, { prefix = false } = {}) {
  try {
    await page.waitForFunction(
      ([want, prefix]) =>
        [...document.querySelectorAll("#log > div")].some((line) =>
          prefix ? line.textContent.startsWith(want) : line.textContent === want,
        ),
      [want, prefix],
      { timeout: STEP_MS },
    );
  } catch (error) {
    throw new Error(`#log never showed ${JSON.stringify(want)}; it has ${JSON.stringify(await logLines(page))}`);
  }
}

async function run() {
  const userDataDir = await mkdtemp(join(tmpdir(), "wsproto-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1000, height: 720 },
    timeout: 30_000,
  });
  const problems = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_MS);
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });

    const response = await page.goto(pageUrl);
    if (!response || response.status() !== 200) throw new Error(`GET ${pageUrl}: status ${response?.status()}`);
    for (const id of ["url", "connect", "message", "send", "close", "log", "status"]) {
      if ((await page.locator(`#${id}`).count()) !== 1) throw new Error(`no element #${id}`);
    }
    const wsUrl = await page.inputValue("#url");
    const expectedUrl = `ws://${new URL(pageUrl).host}/ws`;
    if (wsUrl !== expectedUrl) throw new Error(`#url is ${JSON.stringify(wsUrl)}, not ${expectedUrl}`);

    await page.click("#connect");
    await waitForLine(page, "OPEN");
    const status = await page.textContent("#status");
    if (!/^Open\b/.test(status) || !status.includes("chat")) {
      throw new Error(`#status is ${JSON.stringify(status)} after OPEN; expected Open with subprotocol chat`);
    }

    for (const text of MESSAGES) {
      await page.fill("#message", text);
      await page.click("#send");
      await waitForLine(page, `SENT ${text}`);
      await waitForLine(page, `RECEIVED ${text}`);
    }

    await page.click("#close");
    await waitForLine(page, "CLOSED 1000", { prefix: true });
    const lines = await logLines(page);
    const expected = ["OPEN", ...MESSAGES.flatMap((text) => [`SENT ${text}`, `RECEIVED ${text}`])];
    const closed = lines.at(-1);
    if (JSON.stringify(lines.slice(0, -1)) !== JSON.stringify(expected) || !/^CLOSED 1000\b/.test(closed)) {
      throw new Error(`#log is ${JSON.stringify(lines)}; expected ${JSON.stringify([...expected, "CLOSED 1000 ..."])}`);
    }
    if ((await page.textContent("#status")) !== "Closed") throw new Error("#status does not say Closed");

    await page.screenshot({ path: screenshot, fullPage: true });
    const agent = await page.evaluate(() => navigator.userAgent);
    console.log(`ok: ${pageUrl} in ${agent.match(/(?:Headless)?Chrome\/[\d.]+/)?.[0] ?? agent}`);
    for (const line of lines) console.log(`  ${line}`);
    console.log(`  screenshot: ${screenshot}`);
  } finally {
    await context.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
  if (problems.length) throw new Error(problems.join("\n"));
}

run().then(
  () => process.exit(0),
  (error) => {
    console.error(`FAIL: ${error.message}`);
    process.exit(1);
  },
);
