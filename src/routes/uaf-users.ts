/**
 * FIDO UAF users as routes reach them: by username (case-insensitive), or by the userId of the
 * Authentication Cloud API (the record's id).
 */
import type { Context } from "hono";
import type { RecordRef } from "../kv/record";
import { uafUserName, type UafUserOperations, type UafUserRecord } from "../kv/uaf-user";
import type { AppEnv } from "./context";

export function uafUser<E extends AppEnv>(c: Context<E>, username: string): Promise<RecordRef<UafUserOperations>> {
  return c.get("stores").uafUsers.named(uafUserName(username));
}

/** The user `username`, or null before the first contact. */
export async function readUafUser<E extends AppEnv>(c: Context<E>, username: string): Promise<UafUserRecord | null> {
  return (await uafUser(c, username)).run("read", null, c.get("now"));
}

/** The user a userId names, or null when the id cannot be one. */
export function uafUserById<E extends AppEnv>(c: Context<E>, userId: string): RecordRef<UafUserOperations> | null {
  return c.get("stores").uafUsers.byId(userId);
}
