/// <reference lib="dom" />
// (The page.evaluate callbacks run in the browser.)
// Drives the GraphiQL playground in headless Chromium, for the playground's own test and for
// full-system browser tests. GraphiQL 3's editors are CodeMirror 5 instances: their text is read
// from the `CodeMirror` property of the `.CodeMirror` element, which holds the whole document
// (the DOM only holds the lines on screen).
import { chromium, type Browser, type Page } from 'playwright-core';

/** Selectors of GraphiQL 3's parts. */
export const selectors = {
  execute: '.graphiql-execute-button',
  queryEditor: '.graphiql-query-editor .CodeMirror',
  result: '.graphiql-response .CodeMirror',
} as const;

/** Headless Chromium from the system (browsers cannot be downloaded); `CHROMIUM_PATH` overrides `/usr/bin/chromium`. */
export function launchBrowser(executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'): Promise<Browser> {
  return chromium.launch({
    executablePath,
    // No sandbox when run as root (CI); no background traffic to hosts a closed network refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** What the playground opens with; each goes into the URL's search params. */
export interface PlaygroundOperation {
  query?: string;
  variables?: Record<string, unknown> | string;
  operationName?: string;
  /** The Headers editor's content, e.g. `{ authorization: 'Bearer …' }`. */
  headers?: Record<string, string>;
}

/**
 * Opens the playground at `baseUrl` (e.g. `http://127.0.0.1:4000/`) with an operation in the
 * editor, and waits until GraphiQL has rendered it and can run it.
 */
export async function openPlayground(page: Page, baseUrl: string, operation: PlaygroundOperation = {}): Promise<void> {
  const url = new URL(baseUrl);
  if (operation.query !== undefined) url.searchParams.set('query', operation.query);
  if (operation.variables !== undefined) {
    const { variables } = operation;
    url.searchParams.set('variables', typeof variables === 'string' ? variables : JSON.stringify(variables));
  }
  if (operation.operationName !== undefined) url.searchParams.set('operationName', operation.operationName);
  if (operation.headers !== undefined) url.searchParams.set('headers', JSON.stringify(operation.headers));
  await page.goto(url.href);
  await page.locator(selectors.execute).waitFor({ state: 'visible' });
  // The editors mount after the button; running before the query is in place would run nothing.
  await page.waitForFunction(
    ({ selector, query }) => {
      const value = editorValue(selector);
      return value !== undefined && (query === undefined || value === query);
      function editorValue(s: string) {
        return (document.querySelector(s) as (Element & { CodeMirror?: { getValue(): string } }) | null)?.CodeMirror?.getValue();
      }
    },
    { selector: selectors.queryEditor, query: operation.query },
  );
  await page.locator(selectors.result).waitFor({ state: 'attached' });
}

/** Clicks GraphiQL's run button (it runs the operation in the editor). */
export async function runOperation(page: Page): Promise<void> {
  await page.locator(selectors.execute).click();
}

/** The whole text of the result pane ('' before anything ran). */
export function resultText(page: Page): Promise<string> {
  return page.evaluate((selector) => {
    const editor = document.querySelector(selector) as (Element & { CodeMirror?: { getValue(): string } }) | null;
    return editor?.CodeMirror?.getValue() ?? '';
  }, selectors.result);
}

/**
 * Waits until the result pane's text contains `text`; on timeout, fails with what the pane showed.
 * Defaults: 15 s.
 */
export async function waitForResult(page: Page, text: string, timeoutMs = 15_000): Promise<string> {
  try {
    await page.waitForFunction(
      ({ selector, text }) => {
        const editor = document.querySelector(selector) as (Element & { CodeMirror?: { getValue(): string } }) | null;
        return editor?.CodeMirror?.getValue().includes(text) ?? false;
      },
      { selector: selectors.result, text },
      { timeout: timeoutMs },
    );
  } catch (error) {
    throw new Error(`the result pane did not show ${JSON.stringify(text)} within ${timeoutMs} ms; it shows:\n${await resultText(page)}`, { cause: error });
  }
  return resultText(page);
}

/**
 * Records every text the result pane is given from now on, in order. A subscription's results
 * replace one another in the pane, so this is how a test sees each one arrive: CodeMirror's
 * `change` event fires on every replacement, whether or not the browser painted it.
 */
export function recordResults(page: Page): Promise<{ all(): Promise<string[]> }> {
  return page
    .evaluate((selector) => {
      const editor = document.querySelector(selector) as
        | (Element & { CodeMirror?: { getValue(): string; on(event: 'change', handler: () => void): void } })
        | null;
      if (!editor?.CodeMirror) throw new Error(`no result pane (${selector}) yet: open the playground first`);
      const seen: string[] = [];
      (window as unknown as { playgroundResults: string[] }).playgroundResults = seen;
      const cm = editor.CodeMirror;
      cm.on('change', () => seen.push(cm.getValue()));
    }, selectors.result)
    .then(() => ({
      all: () => page.evaluate(() => [...(window as unknown as { playgroundResults: string[] }).playgroundResults]),
    }));
}

/**
 * Collects the URLs of every request and WebSocket the page opens to anywhere but `origin`
 * (e.g. `http://127.0.0.1:4000`); an empty list proves the page works offline.
 */
export function foreignRequests(page: Page, origin: string): string[] {
  const { host } = new URL(origin);
  const foreign: string[] = [];
  const check = (url: string) => {
    const parsed = new URL(url);
    // data: and blob: URLs never leave the browser.
    if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return;
    if (parsed.host !== host) foreign.push(url);
  };
  page.on('request', (request) => check(request.url()));
  page.on('websocket', (socket) => check(socket.url()));
  return foreign;
}
