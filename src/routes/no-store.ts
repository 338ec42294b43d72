/** Step: token responses and errors must not be cached (RFC 6749 §5.1). */
import { createMiddleware } from "hono/factory";

export const noStore = createMiddleware(async (c, next) => {
  c.header("Cache-Control", "no-store");
  c.header("Pragma", "no-cache");
  await next();
});
