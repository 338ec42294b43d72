/**
 * HTML escaping for the browser rendering of the login flow. Everything that is not markup written
 * here is text: `html` templates escape every interpolated value unless it is already `SafeHtml`, so a
 * `state`, a username or a message can never become markup (OWASP XSS prevention, rules 1 and 2: escape
 * element content and always-quoted attribute values).
 *
 * @example
 *   html`<p title="${title}">${text}</p>`.value  // both escaped
 */

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text as HTML element content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

/** Markup that is already safe: produced by `html`, never from input. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** An interpolated value: SafeHtml as is, arrays joined, null/undefined/false as nothing, anything else escaped. */
type Interpolated = SafeHtml | string | number | boolean | null | undefined | readonly Interpolated[];

function fragment(value: Interpolated): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(fragment).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

/** A template whose interpolations are escaped (see the file's doc). */
export function html(strings: TemplateStringsArray, ...values: readonly Interpolated[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += fragment(value) + strings[index + 1]!;
  });
  return new SafeHtml(out);
}
