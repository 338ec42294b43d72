/**
 * Requests whose body is a stream without Content-Length: the server must count the bytes as it reads and stop
 * at its limit.
 *
 * These go to the Worker's fetch handler in the test's own isolate, so the body stays a JavaScript stream.
 * Sent through the runtime's loopback (`exports.default.fetch`), the body would be pumped into a pipe, and when
 * the server stops reading at its limit workerd logs the aborted upload ("read end of pipe was aborted") as an
 * exception, although the server answered 413 as it should. The server's code path is the same either way.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { workerApp } from "./runtime";

/** `chunks` chunks of `chunkBytes` bytes of `fill`, then the end of the stream. */
export function streamedBody(chunks: number, chunkBytes: number, fill = "a"): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(fill.repeat(chunkBytes));
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

/** POST `body` (a stream) to `url` through the Worker's fetch handler. */
export async function postStreamed(
  url: string,
  headers: Record<string, string>,
  body: ReadableStream<Uint8Array>,
): Promise<Response> {
  const request = new Request(url, { method: "POST", headers, body });
  return await workerApp().fetch(request, env, createExecutionContext());
}
