/**
 * Every HTTP exchange a page's frames make, with the headers as sent and received, and which frame
 * made it: the page itself or a frame inside it (the server's iframe). CORS preflights are not
 * reported by the browser and so are not here.
 */
import type { Page } from "playwright-core";

export interface Exchange {
  readonly from: "page" | "frame";
  readonly method: string;
  readonly url: string;
  /** Lower-case names, as Chromium sent them. */
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly requestBody: string | null;
  readonly status: number;
  readonly responseHeaders: Readonly<Record<string, string>>;
}

export interface ExchangeRecord {
  readonly list: Exchange[];
  /** Wait until every response seen so far is recorded (reading headers is asynchronous). */
  settled(): Promise<void>;
}

export function recordExchanges(page: Page): ExchangeRecord {
  const list: Exchange[] = [];
  const reading: Promise<void>[] = [];
  page.on("response", (response) => {
    const request = response.request();
    reading.push(
      (async () => {
        list.push({
          from: request.frame() === page.mainFrame() ? "page" : "frame",
          method: request.method(),
          url: response.url(),
          requestHeaders: await request.allHeaders(),
          requestBody: request.postData(),
          status: response.status(),
          responseHeaders: await response.allHeaders(),
        });
      })().catch(() => {
        // The page went away while its headers were read: nothing to record.
      }),
    );
  });
  return { list, settled: async () => void (await Promise.all(reading)) };
}
