/**
 * The server's cookies (the login flow's `haapi-login`, the browser session's `haapi-session`): one
 * shape for all of them. `HttpOnly`, `SameSite=Lax`, `Path=/`; on an https issuer `Secure` with the
 * `__Host-` name prefix (RFC 6265bis §4.1.3.2), a plain name on http (development on 127.0.0.1).
 */
const secure = (issuer: string) => issuer.startsWith("https://");

/** `__Host-<base>` when the issuer is https, `<base>` otherwise. */
export function cookieName(base: string, issuer: string): string {
  return secure(issuer) ? `__Host-${base}` : base;
}

/** The Set-Cookie value; Max-Age 0 clears it. */
export function setCookie(base: string, issuer: string, value: string, maxAge: number): string {
  return `${cookieName(base, issuer)}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure(issuer) ? "; Secure" : ""}`;
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(cookieHeader: string | undefined, name: string): string | undefined {
  const prefix = `${name}=`;
  return (cookieHeader ?? "")
    .split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith(prefix))
    ?.slice(prefix.length);
}
