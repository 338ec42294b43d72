/**
 * Step: spend the CAT (and the OAuth-Client-Attestation-PoP's jti, when there is one), once every
 * other check of the request has passed (so a request refused for another reason burns neither).
 * Atomic, in the scope of the CAT's key: of two requests racing with one CAT, exactly one gets a token.
 */
import { createMiddleware } from "hono/factory";
import { OAuthError } from "../../errors";
import { replayId, replayScope } from "../../kv/replay";
import type { AppEnv } from "../context";

export const spendAttestation = createMiddleware<AppEnv>(async (c, next) => {
  const attestation = c.get("authenticated").attestation;
  if (attestation) {
    const { replay } = c.get("stores");
    const scope = replayScope.dpop(attestation.jkt);
    if (
      attestation.popUse &&
      !(await replay.use(
        scope,
        replayId.attestationPop(attestation.popUse.jti),
        attestation.popUse.expiresAt,
        c.get("now"),
      ))
    ) {
      throw new OAuthError("invalid_client_attestation", "client attestation rejected", {
        reason: "attestation_pop_replayed",
      });
    }
    const first = await replay.use(scope, replayId.cat(attestation.jti), attestation.exp, c.get("now"));
    if (!first) {
      throw attestation.via === "header"
        ? new OAuthError("invalid_client_attestation", "client attestation already used", { reason: "cat_replayed" })
        : new OAuthError("invalid_client", "client authentication failed", { reason: "cat_replayed" });
    }
    c.get("log").cat_jti = attestation.jti;
  }
  await next();
});
