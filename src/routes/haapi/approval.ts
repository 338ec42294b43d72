/**
 * The polling step of the out-of-band authenticators (approval-link, uaf-mobile-approval), rendered from
 * the session alone, so every poll and every re-rendered page shows the same links:
 *
 * - The approval secrets are derived, not stored: HMAC-SHA-256 under the server's approval key of a
 *   label naming what they approve (`link:<session>:<deadline>`, `uaf:<transaction>`). The session keeps
 *   only what checks them (the link's SHA-256, the UAF transaction's id).
 * - A pending UAF approval reads its transaction; its outcome is settled inside the LoginSession object,
 *   which changes only that very pending poll (a cancelled or restarted flow stays as it is).
 */
import type { Context } from "hono";
import { base64url } from "jose";
import type { SessionRecord } from "../../kv/login-session";
import { qrCodePng } from "../../qr/png";
import { keysFor } from "../services";
import { appLinkBase, outOfBandPayload } from "../uaf/out-of-band";
import { uafAmr } from "./authenticated";
import type { HaapiEnv } from "./context";
import { mismatch } from "./guard";
import { error, info, type Link, type Message, type Representation } from "./representations";
import { pollingStep, urls } from "./steps";

/** The secret approving `label` (a derived value: the same label always gives the same secret). */
export async function approvalSecret(c: Context<HaapiEnv>, label: string): Promise<string> {
  const key = (await keysFor(c)).approvalKey;
  return base64url.encode(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(label))));
}

export const approvalLabel = {
  link: (sessionId: string, expiresAt: number) => `link:${sessionId}:${expiresAt}`,
  uaf: (transactionId: string) => `uaf:${transactionId}`,
} as const;

/** The links of a pending poll: the one-time approval link, or the phone's app link and its QR code. */
async function pendingLinks(c: Context<HaapiEnv>, session: SessionRecord): Promise<Link[]> {
  const config = c.get("config");
  const step = session.step;
  if (step.kind !== "poll") return [];
  if (step.approval.via === "link") {
    const secret = await approvalSecret(c, approvalLabel.link(session.id, step.expires_at));
    return [{ href: urls.approve(config, session.id, secret), rel: "approval", title: "Open on the approving device" }];
  }
  const token = `${step.approval.transaction}.${await approvalSecret(c, approvalLabel.uaf(step.approval.transaction))}`;
  const appLink = `${appLinkBase(config)}?dispatchTokenResponse=${outOfBandPayload(config, "authentication", token)}`;
  const qr = await qrCodePng(appLink, config.uaf.dispatch.qr_code_size);
  return [
    { href: appLink, rel: "activation", title: "Open on your phone" },
    { href: qr.dataUri, rel: "activation", type: qr.type, title: "Scan with your phone" },
  ];
}

/** A pending UAF approval whose transaction has ended: settled in the session (done with the UAF amr, or failed). */
export async function settled(c: Context<HaapiEnv>, session: SessionRecord): Promise<SessionRecord> {
  const step = session.step;
  if (step.kind !== "poll" || step.status !== "pending" || step.approval.via !== "uaf") return session;
  const tx = await c.get("stores").uafTransactions.byId(step.approval.transaction)?.run("read", null, c.get("now"));
  if (tx && tx.status !== "succeeded" && tx.status !== "failed") return session;
  const outcome =
    tx?.status === "succeeded"
      ? ({ approved: true, amr: [...uafAmr(tx.authenticators[0]?.aaid ?? ""), "mca"] } as const)
      : ({ approved: false } as const);
  return (
    (await c
      .get("sessionRef")
      .run("settleTransaction", { transaction: step.approval.transaction, outcome }, c.get("now"))) ?? session
  );
}

const PENDING_TEXT = {
  link: "Open the approval link on another device.",
  uaf: "Approve the login on your phone: it got a notification if it can receive one; otherwise scan the code with it, or open the link on it.",
} as const;

/** The polling step of the session's current poll. */
export async function pollStep(c: Context<HaapiEnv>, current: SessionRecord): Promise<Representation> {
  const session = await settled(c, current);
  const step = session.step;
  if (step.kind !== "poll") throw mismatch("not_polling");
  const config = c.get("config");
  const now = c.get("now");
  const status = step.status === "pending" && step.expires_at <= now ? "failed" : step.status;
  const messages: Message[] =
    status === "pending"
      ? [info(PENDING_TEXT[step.approval.via])]
      : status === "failed"
        ? [error("The login was not approved.")]
        : [];
  return pollingStep(config, config.authenticatorsById.get(step.authenticator)!, status, {
    remaining: Math.max(0, step.expires_at - now),
    messages,
    ...(status === "pending" ? { links: await pendingLinks(c, session) } : {}),
  });
}
