/**
 * Read an application/x-www-form-urlencoded body, once, at the edge:
 * size-limited, duplicate parameters rejected (RFC 6749 §3.2), empty values treated as absent (§3.1).
 */
import { OAuthError } from "../errors";

export type FormParams = ReadonlyMap<string, string>;

export async function readBodyLimited(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get("Content-Length");
  if (declared !== null && Number(declared) > maxBytes) {
    throw new OAuthError("invalid_request", "request body too large", {
      status: 413,
      reason: "body_too_large",
      detail: { content_length: declared, limit: maxBytes },
    });
  }
  if (!request.body) return "";
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  if (declared !== null) {
    // Length known and within the limit: let the runtime read it in one go.
    try {
      return decoder.decode(await request.arrayBuffer());
    } catch {
      throw new OAuthError("invalid_request", "request body is not UTF-8", { reason: "body_not_utf8" });
    }
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new OAuthError("invalid_request", "request body too large", {
        status: 413,
        reason: "body_too_large",
        detail: { limit: maxBytes },
      });
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return decoder.decode(body);
  } catch {
    throw new OAuthError("invalid_request", "request body is not UTF-8", { reason: "body_not_utf8" });
  }
}

export function isFormContentType(contentType: string | null): boolean {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

/** The form of an OAuth endpoint's request: its content type checked (RFC 6749 §3.2), then read and parsed. */
export async function readOAuthForm(request: Request, maxBytes: number): Promise<FormParams> {
  const contentType = request.headers.get("Content-Type");
  if (!isFormContentType(contentType)) {
    throw new OAuthError("invalid_request", "content type must be application/x-www-form-urlencoded", {
      reason: "content_type_unsupported",
      detail: { content_type: contentType?.slice(0, 100) ?? null },
    });
  }
  return parseForm(await readBodyLimited(request, maxBytes));
}

/** Parse a form body; a parameter given twice is an error, an empty one is absent. */
export function parseForm(body: string): FormParams {
  const params = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (seen.has(name))
      throw new OAuthError("invalid_request", `parameter "${name}" repeated`, {
        reason: "parameter_repeated",
        detail: { parameter: name.slice(0, 100) },
      });
    seen.add(name);
    if (value !== "") params.set(name, value);
  }
  return params;
}
