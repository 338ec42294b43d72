/**
 * The relying party's side of the UAF end-to-end tests: calls to the Authentication Cloud API
 * (`/api/v1/users/enroll`, `/api/v1/approval`, `/api/v1/status`) and the Identity Suite dispatch and
 * status services, with the development access key (src/config/development.json `uaf.api_access_key`),
 * as a backend would make them (Nevis Authentication Cloud API, docs/uaf.md).
 */

/** Any JSON the server answers; every field a test reads it also asserts on. */
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ApiAnswer {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: Json;
}

export interface UafApi {
  /** POST a JSON body to `path` of the server with the access key; never throws on an HTTP error. */
  post(path: string, body: unknown): Promise<ApiAnswer>;
  /** `/api/v1/users/enroll {username, channel: "app"}`; must answer 200. */
  enroll(username: string): Promise<Json>;
  /** `/api/v1/status {statusToken}`; must answer 200. Returns the status body. */
  status(statusToken: string): Promise<Json>;
}

/** The development access key, as src/config/development.json has it. */
export function developmentAccessKey(config: Record<string, unknown>): string {
  const key = (config.uaf as { api_access_key?: unknown } | undefined)?.api_access_key;
  if (typeof key !== "string") throw new TypeError("src/config/development.json has no uaf.api_access_key");
  return key;
}

/** The API of the server at `issuer`, called with `accessKey`; `explain()` is added to failure messages. */
export function uafApi(issuer: string, accessKey: string, explain: () => string = () => ""): UafApi {
  async function post(path: string, body: unknown): Promise<ApiAnswer> {
    const response = await fetch(`${issuer}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${accessKey}`, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let json: Json;
    try {
      json = JSON.parse(text) as Json;
    } catch {
      throw new Error(
        `${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 500)}\n${explain()}`,
      );
    }
    return { status: response.status, contentType: response.headers.get("content-type"), body: json };
  }
  async function ok(path: string, body: unknown): Promise<Json> {
    const answer = await post(path, body);
    if (answer.status !== 200)
      throw new Error(`${path} answered ${answer.status}: ${JSON.stringify(answer.body)}\n${explain()}`);
    return answer.body;
  }
  return {
    post,
    enroll: (username) => ok("/api/v1/users/enroll", { username, channel: "app" }),
    status: (statusToken) => ok("/api/v1/status", { statusToken }),
  };
}
