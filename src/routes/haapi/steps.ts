/**
 * The representation of each step of the flow. URLs are absolute (the issuer's), so every client
 * resolves them the same way.
 */
import type { Config } from "../../config/load";
import type { AuthenticatorConfig } from "../../config/schema";
import type { FlowStep, SessionRecord } from "../../kv/login-session";
import { AUTHN_PATH } from "./context";
import { form, info, VIEWS, type Message, type Representation } from "./representations";

export const urls = {
  selector: (config: Config) => `${config.issuer}${AUTHN_PATH}/authenticate`,
  authenticate: (config: Config, id: string) => `${config.issuer}${AUTHN_PATH}/authenticate/${id}`,
  forgotPassword: (config: Config, id: string) => `${config.issuer}${AUTHN_PATH}/authenticate/${id}/forgot-password`,
  register: (config: Config, id: string) => `${config.issuer}${AUTHN_PATH}/register/${id}`,
  poll: (config: Config, id: string) => `${config.issuer}${AUTHN_PATH}/authenticate/${id}/poll`,
  cancel: (config: Config, id: string) => `${config.issuer}${AUTHN_PATH}/authenticate/${id}/cancel`,
  resume: (config: Config, id: string) => `${config.issuer}${AUTHN_PATH}/authenticate/${id}/continue`,
  uafResponse: (config: Config, id: string) => `${config.issuer}${AUTHN_PATH}/authenticate/${id}/uaf-response`,
  approve: (config: Config, sessionId: string, secret: string) =>
    `${config.issuer}${AUTHN_PATH}/approve/${sessionId}/${secret}`,
} as const;

export function authenticatorTitle(authenticator: AuthenticatorConfig): string {
  const titles: Record<AuthenticatorConfig["type"], string> = {
    "html-form": "Username and password",
    "approval-link": "Approve with another device",
    "uaf-mobile-approval": "Approve on your phone",
    "uaf-device": "This device (FIDO UAF)",
  };
  return authenticator.title ?? titles[authenticator.type];
}

/** The first step of a flow with these authenticators: the only one, or the selector. */
export function firstStep(authenticators: readonly string[]): FlowStep {
  return authenticators.length === 1 ? { kind: "authenticate", authenticator: authenticators[0]! } : { kind: "select" };
}

export function selectorStep(config: Config, session: SessionRecord): Representation {
  return {
    type: "authentication-step",
    metadata: { viewName: VIEWS.selector },
    actions: [
      {
        template: "selector",
        kind: "authenticator-selector",
        title: "Select authentication method",
        model: {
          options: session.authenticators.map((id) => {
            const authenticator = config.authenticatorsById.get(id)!;
            return form("select-authenticator", urls.authenticate(config, id), {
              method: "GET",
              title: authenticatorTitle(authenticator),
              properties: { authenticatorType: authenticator.type },
            });
          }),
        },
      },
    ],
  };
}

const usernameField = { name: "userName", type: "username", label: "Username", required: true } as const;
const passwordField = { name: "password", type: "password", label: "Password", required: true } as const;

export function loginStep(
  config: Config,
  session: SessionRecord,
  authenticator: AuthenticatorConfig,
  messages: readonly Message[] = [],
): Representation {
  return {
    type: "authentication-step",
    metadata: { viewName: VIEWS.login, templateArea: "html1" },
    actions: [
      form("login", urls.authenticate(config, authenticator.id), {
        title: "Login",
        actionTitle: "Login",
        fields: [usernameField, passwordField],
      }),
      ...(config.login.allow_user_registration
        ? [form("user-register", urls.register(config, authenticator.id), { method: "GET", title: "Create account" })]
        : []),
      ...(session.authenticators.length > 1
        ? [form("cancel", urls.selector(config), { method: "GET", title: "Other ways to log in" })]
        : []),
    ],
    links: [
      { href: urls.forgotPassword(config, authenticator.id), rel: "forgot-password", title: "Forgot your password?" },
    ],
    ...(messages.length ? { messages } : {}),
  };
}

export function registerStep(config: Config, authenticator: AuthenticatorConfig): Representation {
  return {
    type: "registration-step",
    metadata: { viewName: VIEWS.register, templateArea: "html1" },
    actions: [
      form("user-register", urls.register(config, authenticator.id), {
        title: "Create account",
        actionTitle: "Create account",
        fields: [
          usernameField,
          passwordField,
          { name: "email", type: "text", kind: "email", label: "Email", required: false, maxLength: 254 },
          { name: "name", type: "text", label: "Full name", required: false, maxLength: 200 },
        ],
      }),
      form("cancel", urls.authenticate(config, authenticator.id), { method: "GET", title: "Back to login" }),
    ],
  };
}

export function forgotPasswordStep(
  config: Config,
  authenticator: AuthenticatorConfig,
  messages: readonly Message[] = [],
): Representation {
  return {
    type: messages.length ? "continue-same-step" : "authentication-step",
    metadata: { viewName: VIEWS.forgotPassword, templateArea: "html1" },
    actions: [
      form("continue", urls.forgotPassword(config, authenticator.id), {
        title: "Reset password",
        actionTitle: "Send",
        fields: [usernameField],
      }),
      form("cancel", urls.authenticate(config, authenticator.id), { method: "GET", title: "Back to login" }),
    ],
    ...(messages.length ? { messages } : {}),
  };
}

const START_TEXT: Record<
  Exclude<AuthenticatorConfig["type"], "html-form">,
  { actionTitle: string; message: string }
> = {
  "approval-link": { actionTitle: "Send approval request", message: "Approve the login from another device." },
  "uaf-mobile-approval": {
    actionTitle: "Send approval request",
    message: "Approve the login on your registered phone.",
  },
  "uaf-device": { actionTitle: "Continue", message: "Log in with the authenticator you registered in this app." },
};

/** The first step of an authenticator that only needs to know who is logging in (approval-link, FIDO UAF). */
export function usernameStep(
  config: Config,
  authenticator: AuthenticatorConfig & { type: keyof typeof START_TEXT },
): Representation {
  const text = START_TEXT[authenticator.type];
  return {
    type: "authentication-step",
    metadata: { viewName: `authenticator/${authenticator.type}/authenticate/get`, templateArea: "html1" },
    actions: [
      form("login", urls.authenticate(config, authenticator.id), {
        title: authenticatorTitle(authenticator),
        actionTitle: text.actionTitle,
        fields: [usernameField],
      }),
    ],
    messages: [info(text.message)],
  };
}

/** The polling step (generic: any out-of-band authenticator). */
export function pollingStep(
  config: Config,
  authenticator: AuthenticatorConfig,
  status: "pending" | "done" | "failed",
  options: {
    readonly intervalMs?: number;
    readonly remaining?: number;
    readonly links?: Representation["links"];
    readonly messages?: readonly Message[];
  } = {},
): Representation {
  const id = authenticator.id;
  const actions =
    status === "pending"
      ? [
          form("poll", urls.poll(config, id), { method: "GET" }),
          form("cancel", urls.cancel(config, id), { title: "Cancel", actionTitle: "Cancel" }),
        ]
      : status === "done"
        ? [form("continue", urls.resume(config, id), { title: "Continue", actionTitle: "Continue" })]
        : [form("cancel", urls.cancel(config, id), { title: "Start again", actionTitle: "Start again" })];
  return {
    type: "polling-step",
    metadata: { viewName: VIEWS.polling },
    properties: {
      status,
      ...(status === "pending" ? { interval: String(options.intervalMs ?? 2000) } : {}),
      ...(options.remaining !== undefined ? { maxWaitRemainingTime: String(options.remaining * 1000) } : {}),
    },
    actions,
    ...(options.links ? { links: options.links } : {}),
    ...(options.messages ? { messages: options.messages } : {}),
  };
}
