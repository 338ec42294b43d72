/**
 * HAAPI representations (`application/vnd.auth+json`) and problems (`application/problem+json`), as
 * Curity's HAAPI documentation describes them (docs/haapi.md). View names are Curity's where its demo apps pick screens by them.
 */
import { AppError, type AppErrorOptions } from "../../errors";
import type { HaapiReason } from "./reasons";

export const HAAPI_MEDIA_TYPE = "application/vnd.auth+json";
export const PROBLEM_MEDIA_TYPE = "application/problem+json";
export const PROBLEM_BASE = "https://curity.se/problems/";

export type RepresentationType =
  | "authentication-step"
  | "registration-step"
  | "polling-step"
  | "redirection-step"
  | "continue-same-step"
  | "oauth-authorization-response";

export interface Field {
  readonly name: string;
  readonly type: "hidden" | "text" | "password" | "username" | "select" | "context" | "checkbox";
  readonly label?: string;
  readonly placeholder?: string;
  readonly value?: string;
  readonly required?: boolean;
  readonly kind?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
}

export interface FormAction {
  readonly template: "form";
  readonly kind: string;
  readonly title?: string;
  readonly model: {
    readonly href: string;
    readonly method: "GET" | "POST";
    readonly type?: "application/x-www-form-urlencoded";
    readonly actionTitle?: string;
    readonly fields?: readonly Field[];
  };
  readonly properties?: Readonly<Record<string, unknown>>;
}

export interface SelectorAction {
  readonly template: "selector";
  readonly kind: "authenticator-selector";
  readonly title: string;
  readonly model: { readonly options: readonly FormAction[] };
}

/** An operation the client performs itself (HAAPI's client-operation action), then continues with a form. */
export interface ClientOperationAction {
  readonly template: "client-operation";
  readonly kind: string;
  readonly title?: string;
  readonly model: {
    readonly name: string;
    readonly arguments: Readonly<Record<string, unknown>>;
    readonly continueActions: readonly FormAction[];
    readonly errorActions?: readonly FormAction[];
  };
}

export type Action = FormAction | SelectorAction | ClientOperationAction;

export interface Link {
  readonly href: string;
  readonly rel: string;
  readonly title?: string;
  readonly type?: string;
}

export interface Message {
  readonly text: string;
  readonly classList: readonly string[];
}

export interface Representation {
  readonly type: RepresentationType;
  readonly metadata?: { readonly viewName: string; readonly templateArea?: string };
  readonly actions?: readonly Action[];
  readonly links?: readonly Link[];
  readonly messages?: readonly Message[];
  readonly properties?: Readonly<Record<string, unknown>>;
}

export const VIEWS = {
  login: "authenticator/html-form/authenticate/get",
  register: "authenticator/html-form/create-account/get",
  forgotPassword: "authenticator/html-form/forgot-password/get",
  selector: "views/select-authenticator/index",
  polling: "authenticator/approval-link/authenticate/wait",
  success: "templates/oauth/success-authorization-response",
} as const;

export const info = (text: string): Message => ({ text, classList: ["info"] });
export const error = (text: string): Message => ({ text, classList: ["error"] });

export function form(
  kind: string,
  href: string,
  options: {
    title?: string;
    method?: "GET" | "POST";
    actionTitle?: string;
    fields?: readonly Field[];
    properties?: Record<string, unknown>;
  } = {},
): FormAction {
  const method = options.method ?? "POST";
  return {
    template: "form",
    kind,
    ...(options.title ? { title: options.title } : {}),
    model: {
      href,
      method,
      ...(method === "POST" ? { type: "application/x-www-form-urlencoded" as const } : {}),
      ...(options.actionTitle ? { actionTitle: options.actionTitle } : {}),
      ...(options.fields ? { fields: options.fields } : {}),
    },
    ...(options.properties ? { properties: options.properties } : {}),
  };
}

/** Problem types (Curity's HAAPI documentation, problems). */
export type ProblemType =
  | "invalid-input"
  | "incorrect-credentials"
  | "too-many-attempts"
  | "authentication-failed"
  | "error-authorization-response"
  | "mismatch-between-session-and-access-token"
  | "generic-user-error"
  | "unexpected";

export interface InvalidField {
  readonly name: string;
  readonly reason: "missing" | "invalidValue";
  readonly detail?: string;
}

const PROBLEM_STATUS: Record<ProblemType, number> = {
  "invalid-input": 400,
  "incorrect-credentials": 400,
  "too-many-attempts": 429,
  "authentication-failed": 400,
  "error-authorization-response": 400,
  "mismatch-between-session-and-access-token": 400,
  "generic-user-error": 400,
  unexpected: 500,
};

/** A problem answer of the HAAPI flow. Thrown by steps; rendered by the flow's `onError` (respond-problem.ts). */
export class HaapiProblem extends AppError<HaapiReason> {
  override readonly name = "HaapiProblem";

  constructor(
    readonly type: ProblemType,
    readonly title: string,
    readonly extra: Readonly<Record<string, unknown>>,
    options: AppErrorOptions<HaapiReason>,
  ) {
    super(title, PROBLEM_STATUS[type], options, `${type}: ${title}`);
  }

  body(): Record<string, unknown> {
    return { type: `${PROBLEM_BASE}${this.type}`, title: this.title, ...this.extra };
  }

  /** The JSON answer, for a HAAPI app (a browser gets a page: respond-problem.ts). */
  toResponse(): Response {
    const headers = new Headers({
      "Content-Type": PROBLEM_MEDIA_TYPE,
      "Cache-Control": "no-store",
      Pragma: "no-cache",
    });
    for (const [name, value] of Object.entries(this.headers)) headers.set(name, value);
    return new Response(JSON.stringify(this.body()), { status: this.status, headers });
  }

  logFields(): Record<string, unknown> {
    return { problem: this.type };
  }
}

export function invalidInput(
  fields: readonly InvalidField[],
  title = "There are missing or invalid fields",
): HaapiProblem {
  return new HaapiProblem(
    "invalid-input",
    title,
    { invalidFields: fields, messages: fields.map((field) => error(`${field.name}: ${field.detail ?? field.reason}`)) },
    { reason: "invalid_input", detail: { fields: fields.map((field) => `${field.name}:${field.reason}`) } },
  );
}
