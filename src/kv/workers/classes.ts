/**
 * The Durable Object classes of wrangler.toml: thin hosts of the record kinds (host.ts), one class per
 * binding. Their operations are the kinds' (src/kv/<kind>.ts); nothing here decides anything.
 * The Workers entry point (src/index.ts) exports everything this module exports: classes only.
 */
import { dynamicClientKind } from "../dynamic-client";
import { grantKind } from "../grant";
import { keyManagerKind } from "../key-manager";
import { loginSessionKind } from "../login-session";
import { rateLimitKind } from "../rate-limiter";
import { uafTransactionKind } from "../uaf-transaction";
import { uafUserKind } from "../uaf-user";
import { userKind } from "../user-store";
import { webSessionKind } from "../web-session";
import { recordHost } from "./host";

export class Grant extends recordHost(grantKind) {}
export class LoginSession extends recordHost(loginSessionKind) {}
export class DynamicClientStore extends recordHost(dynamicClientKind) {}
export class RateLimiter extends recordHost(rateLimitKind) {}
export class KeyManager extends recordHost(keyManagerKind) {}
export class UserStore extends recordHost(userKind) {}
export class UafUser extends recordHost(uafUserKind) {}
export class UafTransaction extends recordHost(uafTransactionKind) {}
export class WebSession extends recordHost(webSessionKind) {}
