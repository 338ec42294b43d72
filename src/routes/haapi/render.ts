/**
 * The representation of a session's current step: the one state machine, whichever way it is rendered
 * (JSON for HAAPI apps, HTML for browsers; respond.ts).
 */
import type { Context } from "hono";
import type { SessionRecord } from "../../kv/login-session";
import type { HaapiEnv } from "./context";
import { mismatch } from "./guard";
import type { Representation } from "./representations";
import { pollStep } from "./approval";
import { loginStep, selectorStep, usernameStep } from "./steps";

export async function renderStep(c: Context<HaapiEnv>, session: SessionRecord): Promise<Representation> {
  const config = c.get("config");
  const step = session.step;
  switch (step.kind) {
    case "select":
      return selectorStep(config, session);
    case "authenticate": {
      const authenticator = config.authenticatorsById.get(step.authenticator)!;
      return authenticator.type === "html-form"
        ? loginStep(config, session, authenticator)
        : usernameStep(config, { ...authenticator, type: authenticator.type });
    }
    // A UAF request is out with the app; asking again starts over (the request is not kept).
    case "uaf": {
      const authenticator = config.authenticatorsById.get(step.authenticator)!;
      return usernameStep(config, { ...authenticator, type: "uaf-device" });
    }
    case "poll":
      return pollStep(c, session);
    case "done":
      throw mismatch("session_already_completed");
  }
}
