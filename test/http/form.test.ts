/**
 * The form edge (src/http/form.ts): a body read once under a byte limit, as UTF-8, and parsed as
 * application/x-www-form-urlencoded (the URL Standard's parser, '+' as space), with a repeated parameter
 * refused and an empty one treated as absent (RFC 6749 §3.1). The functions are called directly, never
 * through the Worker's fetch.
 */
import { describe, expect, it } from "vitest";
import { OAuthError } from "../../src/errors";
import { isFormContentType, parseForm, readBodyLimited, readOAuthForm } from "../../src/http/form";

const TOKEN_URL = "https://as.example/oauth/v2/oauth-token";
const bytes = (text: string) => new TextEncoder().encode(text);

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request(TOKEN_URL, { method: "POST", body, headers });

/** A stream of `chunks` in order; `pulled` counts the chunks handed out, `cancelled` whether the reader gave up. */
function stream(chunks: readonly Uint8Array[]) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[state.pulled];
        if (chunk === undefined) controller.close();
        else {
          state.pulled++;
          controller.enqueue(chunk);
        }
      },
      cancel() {
        state.cancelled = true;
      },
    },
    // Nothing is pulled ahead of a read.
    { highWaterMark: 0 },
  );
  return { body, state };
}

const repeat = (count: number, chunk: string) => Array.from({ length: count }, () => bytes(chunk));

/** What `run` threw, which must be an OAuthError. */
async function refusal(run: () => unknown): Promise<OAuthError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    return error as OAuthError;
  }
  throw new Error("expected an OAuthError, nothing was thrown");
}

describe("readBodyLimited: a declared Content-Length", () => {
  it("over the limit is refused 413 body_too_large before a byte is read", async () => {
    const { body, state } = stream(repeat(4, "aaaaaaaaaa"));
    const error = await refusal(() => readBodyLimited(post(body, { "Content-Length": "31" }), 30));
    expect(error).toMatchObject({
      code: "invalid_request",
      status: 413,
      reason: "body_too_large",
      detail: { content_length: "31", limit: 30 },
    });
    expect(state.pulled).toBe(0);
  });

  it("exactly at the limit is read whole", async () => {
    const text = "a".repeat(30);
    expect(await readBodyLimited(post(text, { "Content-Length": "30" }), 30)).toBe(text);
  });

  it("refuses a body that is not UTF-8 with body_not_utf8", async () => {
    const error = await refusal(() =>
      readBodyLimited(post(new Uint8Array([0x61, 0x3d, 0xff]), { "Content-Length": "3" }), 30),
    );
    expect(error).toMatchObject({ code: "invalid_request", status: 400, reason: "body_not_utf8" });
  });

  it("of 0 with no body reads as the empty string", async () => {
    expect(await readBodyLimited(post(null, { "Content-Length": "0" }), 30)).toBe("");
  });
});

describe("readBodyLimited: a streamed body without Content-Length", () => {
  it("over the limit is refused 413 body_too_large, and reading stops there", async () => {
    const { body, state } = stream(repeat(100, "aaaaaaaaaa"));
    const request = post(body);
    expect(request.headers.get("Content-Length")).toBeNull();
    const error = await refusal(() => readBodyLimited(request, 25));
    expect(error).toMatchObject({
      code: "invalid_request",
      status: 413,
      reason: "body_too_large",
      detail: { limit: 25 },
    });
    expect(error.detail).not.toHaveProperty("content_length");
    // The third chunk crosses 25 bytes; the rest of the stream is never pulled, and it is cancelled.
    expect(state.pulled).toBe(3);
    expect(state.cancelled).toBe(true);
  });

  it("exactly at the limit is accepted, one byte more is not", async () => {
    expect(await readBodyLimited(post(stream(repeat(3, "aaaaaaaaaa")).body), 30)).toBe("a".repeat(30));
    const error = await refusal(() => readBodyLimited(post(stream(repeat(3, "aaaaaaaaaa")).body), 29));
    expect(error.reason).toBe("body_too_large");
  });

  it("counts bytes, not characters", async () => {
    // "é" is two bytes in UTF-8: three of them are six bytes.
    expect(await readBodyLimited(post("ééé"), 6)).toBe("ééé");
    expect((await refusal(() => readBodyLimited(post("ééé"), 5))).reason).toBe("body_too_large");
  });

  it("joins a character split across chunks", async () => {
    const { body } = stream([bytes("name="), new Uint8Array([0xc3]), new Uint8Array([0xa9]), bytes("&x=1")]);
    expect(await readBodyLimited(post(body), 100)).toBe("name=é&x=1");
  });

  it("refuses bytes that are not UTF-8 with body_not_utf8", async () => {
    const notUtf8 = [
      [0x61, 0xff], // a byte UTF-8 never uses
      [0x61, 0xc3], // a sequence cut short at the end
      [0xc0, 0xaf], // an overlong encoding of "/"
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate
    ];
    for (const sequence of notUtf8) {
      const error = await refusal(() => readBodyLimited(post(stream([new Uint8Array(sequence)]).body), 100));
      expect(error).toMatchObject({ code: "invalid_request", status: 400, reason: "body_not_utf8" });
    }
  });

  it("drops a leading byte order mark", async () => {
    const { body } = stream([new Uint8Array([0xef, 0xbb, 0xbf]), bytes("a=1")]);
    expect(await readBodyLimited(post(body), 100)).toBe("a=1");
  });

  it("reads an empty body, or none, as the empty string", async () => {
    expect(await readBodyLimited(post(null), 0)).toBe("");
    expect(await readBodyLimited(post(""), 0)).toBe("");
    expect(await readBodyLimited(post(stream([]).body), 0)).toBe("");
    expect(await readBodyLimited(new Request(TOKEN_URL), 0)).toBe("");
  });
});

describe("isFormContentType", () => {
  it("accepts application/x-www-form-urlencoded in any case, with parameters and spaces", () => {
    expect(isFormContentType("application/x-www-form-urlencoded")).toBe(true);
    expect(isFormContentType("Application/X-WWW-Form-URLEncoded")).toBe(true);
    expect(isFormContentType("application/x-www-form-urlencoded; charset=UTF-8")).toBe(true);
    expect(isFormContentType(" application/x-www-form-urlencoded ;charset=utf-8")).toBe(true);
  });

  it("refuses any other type, a near miss, an empty one and none", () => {
    expect(isFormContentType("application/json")).toBe(false);
    expect(isFormContentType("multipart/form-data; boundary=x")).toBe(false);
    expect(isFormContentType("application/x-www-form-urlencodedx")).toBe(false);
    expect(isFormContentType("text/plain; application/x-www-form-urlencoded")).toBe(false);
    expect(isFormContentType("")).toBe(false);
    expect(isFormContentType(null)).toBe(false);
  });
});

describe("parseForm", () => {
  it("reads each parameter once, in order", () => {
    expect([...parseForm("grant_type=authorization_code&code=abc&client_id=app")]).toEqual([
      ["grant_type", "authorization_code"],
      ["code", "abc"],
      ["client_id", "app"],
    ]);
  });

  it("percent-decodes names and values, as UTF-8, with '+' as a space", () => {
    const params = parseForm(
      "redirect_uri=https%3A%2F%2Fclient.example%2Fcb%3Fx%3D1&scope=openid+profile&plus=a%2Bb&space=%20&na%6De=%C3%A9",
    );
    expect(params.get("redirect_uri")).toBe("https://client.example/cb?x=1");
    expect(params.get("scope")).toBe("openid profile");
    expect(params.get("plus")).toBe("a+b");
    expect(params.get("space")).toBe(" ");
    expect(params.get("name")).toBe("é");
  });

  it("keeps a '%' that starts no escape as it is", () => {
    const params = parseForm("a=%zz&b=100%&c=%4");
    expect(params.get("a")).toBe("%zz");
    expect(params.get("b")).toBe("100%");
    expect(params.get("c")).toBe("%4");
  });

  it("treats an empty value, or a name without '=', as absent", () => {
    const params = parseForm("scope=&code=abc&state&=&&");
    expect([...params]).toEqual([["code", "abc"]]);
    expect(params.has("scope")).toBe(false);
    expect(params.has("state")).toBe(false);
  });

  it("reads an empty body as no parameters", () => {
    expect(parseForm("").size).toBe(0);
    expect(parseForm("&&&").size).toBe(0);
  });

  it("refuses a repeated parameter with parameter_repeated, naming it", () => {
    const error = (() => {
      try {
        parseForm("code=abc&grant_type=authorization_code&code=def");
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({
      code: "invalid_request",
      status: 400,
      reason: "parameter_repeated",
      description: 'parameter "code" repeated',
      detail: { parameter: "code" },
    });
  });

  it("compares names once decoded, and counts an empty repetition as one", () => {
    expect(() => parseForm("scope=a&sc%6Fpe=b")).toThrow(expect.objectContaining({ reason: "parameter_repeated" }));
    expect(() => parseForm("scope=a&scope=a")).toThrow(expect.objectContaining({ reason: "parameter_repeated" }));
    // The stricter reading: a parameter sent twice is refused even when one of the two is empty.
    expect(() => parseForm("scope=&scope=a")).toThrow(expect.objectContaining({ reason: "parameter_repeated" }));
    expect(() => parseForm("scope&scope")).toThrow(expect.objectContaining({ reason: "parameter_repeated" }));
    // Names are case-sensitive: these are two parameters.
    expect([...parseForm("scope=a&Scope=b")]).toHaveLength(2);
  });

  it("names at most 100 characters of a repeated parameter in the detail", () => {
    const name = "n".repeat(150);
    expect(() => parseForm(`${name}=1&${name}=2`)).toThrow(
      expect.objectContaining({ reason: "parameter_repeated", detail: { parameter: "n".repeat(100) } }),
    );
  });
});

describe("readOAuthForm", () => {
  it("reads and parses a form request (RFC 6749 §3.2), a content type with parameters included", async () => {
    const params = await readOAuthForm(
      post("grant_type=client_credentials&scope=read+write", {
        "Content-Type": "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
      }),
      1024,
    );
    expect(Object.fromEntries(params)).toEqual({ grant_type: "client_credentials", scope: "read write" });
  });

  it("refuses another content type, or none, before reading the body", async () => {
    for (const headers of [{ "Content-Type": "application/json" }, {}] as Record<string, string>[]) {
      const { body, state } = stream([bytes("grant_type=client_credentials")]);
      const error = await refusal(() => readOAuthForm(post(body, headers), 1024));
      expect(error).toMatchObject({
        code: "invalid_request",
        status: 400,
        reason: "content_type_unsupported",
        description: "content type must be application/x-www-form-urlencoded",
      });
      expect(state.pulled).toBe(0);
    }
  });

  it("keeps the body's limit", async () => {
    const error = await refusal(() =>
      readOAuthForm(post(`scope=${"a".repeat(2000)}`, { "Content-Type": "application/x-www-form-urlencoded" }), 1024),
    );
    expect(error).toMatchObject({ status: 413, reason: "body_too_large" });
  });
});
