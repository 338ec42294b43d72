/**
 * The login flow: unique authenticator ids and user names, one password form per user (plain text only
 * in development), demonstration authenticators only in development, and clients that name existing
 * authenticators and have a redirect URI for the code flow.
 */
import type { ParsedConfig } from "../schema";
import { firstOccurrences } from "./shared";

export function loginProblems(config: ParsedConfig): string[] {
  const problems: string[] = [];
  const development = config.environment === "development";
  const firstAuthenticator = firstOccurrences();
  config.authenticators.forEach((authenticator, i) => {
    const first = firstAuthenticator(authenticator.id, i);
    if (first !== undefined)
      problems.push(
        `authenticators[${i}].id: duplicate value ${JSON.stringify(authenticator.id)} (also authenticators[${first}])`,
      );
    if (authenticator.type === "approval-link" && !development) {
      problems.push(
        `authenticators[${i}].type: approval-link is a demonstration, only allowed when environment is "development"`,
      );
    }
  });
  const firstUser = firstOccurrences();
  config.users.forEach((user, i) => {
    const first = firstUser(user.username.toLowerCase(), i);
    if (first !== undefined)
      problems.push(
        `users[${i}].username: duplicate value ${JSON.stringify(user.username)} (also users[${first}], case-insensitive)`,
      );
    if ((user.password === undefined) === (user.password_hash === undefined))
      problems.push(`users[${i}].password_hash: give exactly one of password or password_hash`);
    if (user.password !== undefined && !development) {
      problems.push(
        `users[${i}].password: plain-text passwords are only accepted when environment is "development"; use password_hash`,
      );
    }
  });
  const authenticatorIds = new Set(config.authenticators.map((authenticator) => authenticator.id));
  config.clients.forEach((client, i) => {
    client.authenticators?.forEach((id, k) => {
      if (!authenticatorIds.has(id))
        problems.push(`clients[${i}].authenticators[${k}]: no authenticator ${JSON.stringify(id)}`);
    });
    if (
      client.grant_types.includes("authorization_code") &&
      client.redirect_uris.length === 0 &&
      !client.dynamic_client_registration_template
    ) {
      problems.push(`clients[${i}].redirect_uris: required because grant_types contains authorization_code`);
    }
  });
  return problems;
}
