/**
 * The browser rendering of the login flow: a pure function from a HAAPI `Representation` (the very
 * value the app receives as `application/vnd.auth+json`) to an HTML page. No state machine lives here:
 * forms post to the same `/authn` step URLs, with the same field names, as a HAAPI app does.
 *
 * - `form` actions: POST forms (with the session's CSRF token as a hidden field); GET actions without
 *   fields are links, GET actions with fields are GET forms (no token: GET changes nothing of worth).
 * - `selector` actions: a list of their options.
 * - `polling-step`: while pending, a `<meta http-equiv="refresh">` to the poll URL every `interval`
 *   (there is no script: the CSP allows none), and a manual button.
 * - a refused submission is the same page again with the problem above the form and each invalid
 *   field's reason beside it; what the user typed is kept, except passwords.
 */
import type { Action, Field, FormAction, InvalidField, Link, Message, Representation } from "../representations";
import { html, SafeHtml } from "./escape";

/** The hidden field carrying the CSRF token in every POST form. */
export const CSRF_FIELD = "csrf_token";

/** A refused submission, shown on the page that is rendered again. */
export interface PageProblem {
  readonly type: string;
  readonly title: string;
  readonly messages: readonly Message[];
  readonly invalidFields: readonly InvalidField[];
}

export interface PageOptions {
  /** The session's CSRF token, a hidden field of every POST form. */
  readonly csrf?: string;
  readonly problem?: PageProblem;
  /** What the user had entered, to fill the form again (never used for passwords). */
  readonly values?: ReadonlyMap<string, string>;
}

const CSS = `
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;line-height:1.45}
body{margin:0;background:#f3f4f6;color:#111827}
main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 1.2rem}h2{font-size:1.05rem;margin:1.2rem 0 .6rem}
.field{margin:0 0 1rem}label{display:block;font-weight:600;margin:0 0 .3rem}
input[type=text],input[type=email],input[type=password]{box-sizing:border-box;width:100%;padding:.55rem .7rem;font:inherit;border:1px solid #9ca3af;border-radius:.4rem}
input[aria-invalid=true]{border-color:#b91c1c}
button,a.button{display:inline-block;box-sizing:border-box;width:100%;padding:.6rem 1rem;font:inherit;font-weight:600;text-align:center;text-decoration:none;border:0;border-radius:.4rem;background:#1d4ed8;color:#fff;cursor:pointer}
a.button.secondary{background:transparent;color:#1d4ed8;border:1px solid #1d4ed8}
form,.action{margin:0 0 1rem}ul.options{list-style:none;padding:0;margin:0}
.message{padding:.6rem .8rem;border-radius:.4rem;margin:0 0 1rem}.message.info{background:#eff6ff;color:#1e3a8a}.message.error{background:#fef2f2;color:#991b1b}
.field-error{color:#b91c1c;font-size:.9rem;margin:.3rem 0 0}.links{margin:1.2rem 0 0}.links a{color:#1d4ed8}.approval{word-break:break-all}
@media (prefers-color-scheme:dark){body{background:#111827;color:#f9fafb}main{background:#1f2937}}
`;

/** The whole document; `refresh`: a meta refresh (seconds, URL). */
function layout(
  view: {
    title: string;
    viewName?: string;
    type: string;
    problem?: string;
    refresh?: { seconds: number; url: string };
  },
  content: SafeHtml,
): string {
  const refresh = view.refresh
    ? html`<meta http-equiv="refresh" content="${`${view.refresh.seconds};url=${view.refresh.url}`}">`
    : null;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">${refresh}<title>${view.title}</title><style>${new SafeHtml(CSS)}</style></head>
<body data-type="${view.type}" data-view="${view.viewName ?? ""}" data-problem="${view.problem ?? ""}"><main>
<h1>${view.title}</h1>
${content}
</main></body></html>
`.value;
}

function messageList(messages: readonly Message[]): SafeHtml {
  return html`${messages.map((message) => html`<p class="${["message", ...message.classList].join(" ")}" role="${message.classList.includes("error") ? "alert" : "status"}">${message.text}</p>`)}`;
}

function reasonText(field: InvalidField): string {
  return field.detail ?? (field.reason === "missing" ? "This field is required" : "This value is not valid");
}

const AUTOCOMPLETE: Readonly<Record<string, string>> = { userName: "username", email: "email", name: "name" };

function fieldHtml(field: Field, formIndex: number, registration: boolean, options: PageOptions): SafeHtml {
  if (field.type === "hidden" || field.type === "context")
    return html`<input type="hidden" name="${field.name}" value="${field.value ?? ""}">`;
  const id = `f${formIndex}-${field.name}`;
  const invalid = options.problem?.invalidFields.find((candidate) => candidate.name === field.name);
  const entered = field.type === "password" ? undefined : options.values?.get(field.name);
  const error = invalid ? html`<p class="field-error" id="${id}-error">${reasonText(invalid)}</p>` : null;
  const aria = invalid ? html` aria-invalid="true" aria-describedby="${id}-error"` : null;
  if (field.type === "checkbox") {
    const checked = entered !== undefined || field.value === "true" ? html` checked` : null;
    return html`<div class="field"><label><input type="checkbox" id="${id}" name="${field.name}" value="on"${checked}${aria}> ${field.label ?? field.name}</label>${error}</div>`;
  }
  const type = field.type === "password" ? "password" : field.kind === "email" ? "email" : "text";
  const autocomplete =
    field.type === "password"
      ? registration
        ? "new-password"
        : "current-password"
      : (AUTOCOMPLETE[field.name] ?? "off");
  const value = entered ?? field.value;
  const attributes = html`${field.required ? html` required` : null}${field.minLength !== undefined ? html` minlength="${field.minLength}"` : null}${field.maxLength !== undefined ? html` maxlength="${field.maxLength}"` : null}${field.placeholder ? html` placeholder="${field.placeholder}"` : null}${value !== undefined ? html` value="${value}"` : null}`;
  const typing = field.type === "username" ? html` autocapitalize="none" spellcheck="false"` : null;
  return html`<div class="field"><label for="${id}">${field.label ?? field.name}</label><input type="${type}" id="${id}" name="${field.name}" autocomplete="${autocomplete}"${typing}${attributes}${aria}>${error}</div>`;
}

function formHtml(action: FormAction, formIndex: number, registration: boolean, options: PageOptions): SafeHtml {
  const { href, method, fields = [] } = action.model;
  const label = action.model.actionTitle ?? action.title ?? action.kind;
  if (method === "GET" && fields.length === 0) {
    return html`<p class="action"><a class="button secondary" data-kind="${action.kind}" href="${href}">${action.title ?? label}</a></p>`;
  }
  const csrf =
    method === "POST" && options.csrf ? html`<input type="hidden" name="${CSRF_FIELD}" value="${options.csrf}">` : null;
  return html`<form method="${method.toLowerCase()}" action="${href}" data-kind="${action.kind}">${fields.map((field) => fieldHtml(field, formIndex, registration, options))}${csrf}<button type="submit">${label}</button></form>`;
}

function actionsHtml(actions: readonly Action[], registration: boolean, options: PageOptions): SafeHtml {
  return html`${actions.map((action, index) =>
    action.template === "selector"
      ? html`<nav aria-label="${action.title}" data-kind="${action.kind}"><ul class="options">${action.model.options.map((option, optionIndex) => html`<li>${formHtml(option, index * 100 + optionIndex, registration, options)}</li>`)}</ul></nav>`
      : action.template === "client-operation"
        ? // A browser cannot run a client operation (a UAF authenticator lives in the app): say so, offer the way back.
          html`<p class="message info" data-kind="${action.kind}">This step continues in the app (${action.model.name}).</p>${(action.model.errorActions ?? []).map((errorAction, errorIndex) => formHtml(errorAction, index * 100 + errorIndex, registration, options))}`
        : formHtml(action, index, registration, options),
  )}`;
}

function linksHtml(links: readonly Link[]): SafeHtml | null {
  if (!links.length) return null;
  return html`<div class="links">${links.map((link) =>
    link.type === "image/png" && link.href.startsWith("data:image/png;base64,")
      ? html`<p><img class="qr" alt="${link.title ?? "QR code"}" src="${link.href}" width="240" height="240"></p>`
      : link.rel === "approval" || link.rel === "activation"
        ? html`<p>${link.title ?? "Approval link"}:<br><a class="approval" rel="${link.rel}" href="${link.href}">${link.href}</a></p>`
        : html`<p><a rel="${link.rel}" href="${link.href}">${link.title ?? link.rel}</a></p>`,
  )}</div>`;
}

/** The problem above the form: for invalid-input, its title and the fields the form does not show. */
function problemMessages(problem: PageProblem | undefined, shown: ReadonlySet<string>): readonly Message[] {
  if (!problem) return [];
  if (problem.invalidFields.length) {
    const elsewhere = problem.invalidFields.filter((field) => !shown.has(field.name));
    return [
      { text: problem.title, classList: ["error"] },
      ...elsewhere.map((field) => ({ text: `${field.name}: ${reasonText(field)}`, classList: ["error"] })),
    ];
  }
  return problem.messages.length ? problem.messages : [{ text: problem.title, classList: ["error"] }];
}

function pageTitle(representation: Representation): string {
  if (representation.type === "polling-step") return "Waiting for approval";
  if (representation.type === "oauth-authorization-response") return "Logged in";
  return representation.actions?.[0]?.title ?? "Log in";
}

/** Seconds between polls: the step's `interval` (milliseconds), at least one. */
function pollSeconds(representation: Representation): number {
  const interval = Number(representation.properties?.interval ?? 2000);
  return Math.max(1, Math.ceil((Number.isFinite(interval) ? interval : 2000) / 1000));
}

const STATUS_TEXT: Readonly<Record<string, string>> = {
  pending: "Waiting for the approval…",
  done: "Approved. Continue to finish logging in.",
  failed: "The approval did not arrive in time. Start again.",
};

/** A representation as an HTML page. Pure: everything it needs is in its arguments. */
export function renderPage(representation: Representation, options: PageOptions = {}): string {
  const actions = representation.actions ?? [];
  const registration = representation.type === "registration-step";
  const shown = new Set(
    actions.flatMap((action) =>
      action.template === "form" ? (action.model.fields ?? []).map((field) => field.name) : [],
    ),
  );
  const messages = [...problemMessages(options.problem, shown), ...(representation.messages ?? [])];
  let refresh: { seconds: number; url: string } | undefined;
  let status: SafeHtml | null = null;
  if (representation.type === "polling-step") {
    const state = String(representation.properties?.status ?? "pending");
    status = html`<p class="message info" role="status" data-status="${state}">${STATUS_TEXT[state] ?? state}</p>`;
    const poll = actions.find((action): action is FormAction => action.template === "form" && action.kind === "poll");
    if (state === "pending" && poll) refresh = { seconds: pollSeconds(representation), url: poll.model.href };
  }
  const pageActions = actions.map((action) =>
    action.template === "form" && action.kind === "poll"
      ? { ...action, model: { ...action.model, actionTitle: action.model.actionTitle ?? "Check now" } }
      : action,
  );
  const content = html`${status}${messageList(messages)}${actionsHtml(pageActions, registration, options)}${linksHtml(representation.links ?? [])}`;
  return layout(
    {
      title: pageTitle(representation),
      type: representation.type,
      ...(representation.metadata?.viewName ? { viewName: representation.metadata.viewName } : {}),
      ...(options.problem ? { problem: options.problem.type } : {}),
      ...(refresh ? { refresh } : {}),
    },
    content,
  );
}

/** A page with a message and no form: a problem the flow cannot continue from, or a plain notice. */
export function renderMessagePage(page: {
  title: string;
  messages: readonly Message[];
  links?: readonly Link[];
  problem?: string;
}): string {
  return layout(
    { title: page.title, type: "message", ...(page.problem ? { problem: page.problem } : {}) },
    html`${messageList(page.messages)}${linksHtml(page.links ?? [])}`,
  );
}
