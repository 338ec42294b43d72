/**
 * Representations of the FIDO UAF authenticators' steps in the login flow:
 * - the first step of both is steps.ts's usernameStep;
 * - uaf-device: a `client-operation` (HAAPI's client-operation action) carrying the UAF AuthenticationRequest; the app
 *   runs it with its UAF SDK and continues with a form that posts `uafResponse`;
 * - uaf-mobile-approval waits in the generic polling step (steps.ts), with the app link and its QR code.
 */
import type { Config } from "../../config/load";
import type { AuthenticatorConfig } from "../../config/schema";
import { form, type Representation } from "./representations";
import { authenticatorTitle, urls } from "./steps";

export function uafOperationStep(
  config: Config,
  authenticator: AuthenticatorConfig,
  request: { readonly uafRequest: string; readonly lifetimeMillis: number },
): Representation {
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
          arguments: {
            op: "Auth",
            uafRequest: request.uafRequest,
            lifetimeMillis: request.lifetimeMillis,
            contentType: "application/fido+uaf",
          },
          continueActions: [
            form("login", urls.uafResponse(config, authenticator.id), {
              fields: [{ name: "uafResponse", type: "hidden", required: true }],
            }),
          ],
          errorActions: [
            form("cancel", urls.cancel(config, authenticator.id), { title: "Cancel", actionTitle: "Cancel" }),
          ],
        },
      },
    ],
  };
}
