import type { Express } from "express";

/**
 * The page the password-reset mail links to (PASSWORD_RESET_URL defaults to the gateway's
 * /reset-password): a form that sends `resetPassword` with the mailed token to /graphql. Static, no
 * inline script (a strict CSP), and the token in its URL is never sent on as a referrer or cached.
 */
export function serveResetPasswordPage(app: Express): void {
  const secure = (res: import("express").Response) =>
    res
      .set("Cache-Control", "no-store")
      .set("Referrer-Policy", "no-referrer")
      .set("X-Content-Type-Options", "nosniff")
      .set("X-Frame-Options", "DENY")
      .set(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
      );
  app.get("/reset-password", (_req, res) => void secure(res).type("html").send(PAGE));
  app.get("/reset-password.js", (_req, res) => void secure(res).type("application/javascript").send(SCRIPT));
}

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Reset your password</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}input,button{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0}</style></head>
<body>
<h1>Reset your password</h1>
<form id="reset">
<label for="password">New password (at least 8 characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="200" required>
<button type="submit">Set the new password</button>
</form>
<p id="outcome" role="status"></p>
<script src="/reset-password.js"></script>
</body>
</html>
`;

const SCRIPT = `"use strict";
(function () {
  var token = new URLSearchParams(location.search).get("token") || "";
  var form = document.getElementById("reset");
  var outcome = document.getElementById("outcome");
  if (!token) { outcome.textContent = "This link has no token: open the link from the mail again."; form.hidden = true; return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    outcome.textContent = "…";
    fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: "mutation ResetPassword($token: String!, $newPassword: String!) { resetPassword(token: $token, newPassword: $newPassword) { user { email } } }",
        variables: { token: token, newPassword: document.getElementById("password").value }
      })
    }).then(function (response) { return response.json(); }).then(function (answer) {
      if (answer.data && answer.data.resetPassword) { outcome.textContent = "Your password is changed: sign in with it."; form.hidden = true; }
      else outcome.textContent = (answer.errors && answer.errors[0] && answer.errors[0].message) || "The password was not changed.";
    }, function () { outcome.textContent = "The server did not answer: try again."; });
  });
})();
`;
