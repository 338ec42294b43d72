/**
 * What the registration pipelines carry from step to step.
 */
import type { Client } from "../../config/load";
import type { RegisteredMetadata } from "../../kv/dynamic-client";
import type { AppEnv } from "../context";
import type { RegistrationAuthority } from "./authorize";

export const REGISTRATION_PATH = "/token-service/oauth-registration";

export type RegistrationEnv = AppEnv & {
  Variables: {
    /** The JSON body, with an approved software statement's claims applied over it. */
    registrationBody: Readonly<Record<string, unknown>>;
    authority: RegistrationAuthority;
    template: Client;
    metadata: RegisteredMetadata;
  };
};
