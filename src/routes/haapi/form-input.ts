/**
 * Reading the forms of the login flow, once: `application/x-www-form-urlencoded` (what HAAPI apps send
 * and what HTML forms post), size-limited, a repeated field refused. The parsed form is kept on the
 * context, so the browser path's CSRF check and the step read the same body, and a refused form can be
 * shown again with what was typed.
 */
import type { Context } from "hono";
import { USERNAME_PATTERN, USERNAME_RULE } from "../../protocol";
import { OAuthError } from "../../errors";
import { isFormContentType, parseForm, readBodyLimited, type FormParams } from "../../http/form";
import type { HaapiEnv } from "./context";
import { invalidInput, type HaapiProblem, type InvalidField } from "./representations";

const notForm = () =>
  invalidInput(
    [{ name: "Content-Type", reason: "invalidValue", detail: "must be application/x-www-form-urlencoded" }],
    "The form must be sent as application/x-www-form-urlencoded",
  );

/** The request's form; `wrongType` is the problem when the body is not form-urlencoded. */
export async function readForm(c: Context<HaapiEnv>, wrongType: () => HaapiProblem = notForm): Promise<FormParams> {
  const cached = c.get("submitted");
  if (cached) return cached;
  if (!isFormContentType(c.req.header("Content-Type") ?? null)) throw wrongType();
  let form: FormParams;
  try {
    form = parseForm(await readBodyLimited(c.req.raw, c.get("config").limits.max_body_bytes));
  } catch (cause) {
    if (cause instanceof OAuthError)
      throw invalidInput(
        [{ name: "body", reason: "invalidValue", detail: cause.description }],
        "The form could not be read",
      );
    throw cause;
  }
  c.set("submitted", form);
  return form;
}

/** A field check: a user name (the configuration's rule). */
export const username = (value: string): string | null => (USERNAME_PATTERN.test(value) ? null : USERNAME_RULE);

/** Required, well-formed fields; every problem at once. */
export function requireFields(
  form: FormParams,
  checks: Record<string, (value: string) => string | null>,
): Record<string, string> {
  const problems: InvalidField[] = [];
  const values: Record<string, string> = {};
  for (const [name, check] of Object.entries(checks)) {
    const value = form.get(name);
    if (value === undefined) {
      problems.push({ name, reason: "missing" });
      continue;
    }
    const problem = check(value);
    if (problem) problems.push({ name, reason: "invalidValue", detail: problem });
    else values[name] = value;
  }
  if (problems.length) throw invalidInput(problems);
  return values;
}
