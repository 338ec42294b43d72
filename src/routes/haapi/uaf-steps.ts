/**
 * Representations of the FIDO UAF authenticators' steps in the login flow:
 * - the first step of both: who is logging in (a userName form);
 * - uaf-device: a `client-operation` (protocols/haapi.md) carrying the UAF AuthenticationRequest; the app
 *   runs it with its UAF SDK and continues with a form that posts `uafResponse`;
 * - uaf-mobile-approval waits in the generic polling step (steps.ts), with the app link and its QR code.
 */
import type { Config } from "../../config/load";
import type { AuthenticatorConfig } from "../../config/schema";
import { AUTHN_PATH } from "./context";
import { form, info, type Representation } from "./representations";
import { authenticatorTitle, urls } from "./steps";

export const uafUrls = {
  response: (config: Config, id: string) => `${config.issuer}${AUTHN_PATH}/authenticate/${id}/uaf-response`,
} as const;

export function uafStartStep(config: Config, authenticator: AuthenticatorConfig): Representation {
  const device = authenticator.type === "uaf-device";
  return {
    type: "authentication-step",
    metadata: { viewName: `authenticator/${authenticator.type}/authenticate/get`, templateArea: "html1" },
    actions: [
      form("login", urls.authenticate(config, authenticator.id), {
        title: authenticatorTitle(authenticator),
        actionTitle: device ? "Continue" : "Send approval request",
        fields: [{ name: "userName", type: "username", label: "Username", required: true }],
      }),
    ],
    messages: [info(device ? "Log in with the authenticator you registered in this app." : "Approve the login on your registered phone.")],
  };
}

export function uafOperationStep(config: Config, authenticator: AuthenticatorConfig, request: { readonly uafRequest: string; readonly lifetimeMillis: number }): Representation {
  return {
    type: "authentication-step",
    metadata: { viewName: `authenticator/${authenticator.type}/authenticate/operation`, templateArea: "html1" },
    actions: [
      {
        template: "client-operation",
        kind: "login",
        title: authenticatorTitle(authenticator),
        model: {
          name: "fido-uaf-authentication",
          arguments: { op: "Auth", uafRequest: request.uafRequest, lifetimeMillis: request.lifetimeMillis, contentType: "application/fido+uaf" },
          continueActions: [form("login", uafUrls.response(config, authenticator.id), { fields: [{ name: "uafResponse", type: "hidden", required: true }] })],
          errorActions: [form("cancel", urls.cancel(config, authenticator.id), { title: "Cancel", actionTitle: "Cancel" })],
        },
      },
    ],
  };
}
