// The sign-in / sign-up card, the "Sign in with …" buttons, and the return from an
// OAuth provider (the session token, or an error, in the URL fragment).

import { $, describe } from "./ui.js";

// What a failed OAuth sign-in says, by the stable code in the landing fragment (docs/oauth.md).
const OAUTH_ERRORS = {
  unknown_provider: "This sign-in method is not available.",
  invalid_redirect: "Sign-in could not start.",
  invalid_state: "This sign-in link has expired; try again.",
  provider_error: "The provider refused the sign-in.",
  invalid_callback: "Sign-in failed; try again.",
  token_exchange_failed: "Sign-in failed; try again.",
  provider_unavailable: "The provider is not reachable; try again in a moment.",
  id_token_invalid: "Sign-in failed.",
  id_token_expired: "Sign-in failed; check your device's clock and try again.",
  id_token_signature_invalid: "Sign-in failed.",
  nonce_mismatch: "Sign-in failed; try again.",
  account_exists: "An account with this email already exists: sign in with your password.",
  identity_in_use: "This {provider} account is connected to another account.",
  unauthorized: "Sign in first.",
  conflict: "Try again.",
  validation_error: "Sign-in failed.",
  internal_error: "Something went wrong; try again.",
};

/** OAuth providers the server offers ([] when it has none, 404, or cannot say). */
export async function providers(client) {
  try {
    const data = await client.request("GET", "/auth/providers");
    const list = Array.isArray(data) ? data : data?.providers;
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

export class AuthView {
  /** @param {{client: any, config: {apiUrl: string}, providerNames: Map<string,string>}} options */
  constructor({ client, config, providerNames }) {
    this.client = client;
    this.config = config;
    this.providerNames = providerNames;
    this.mode = "signin";
  }

  wire() {
    $("tab-signin").addEventListener("click", () => this.setMode("signin"));
    $("tab-signup").addEventListener("click", () => this.setMode("signup"));
    for (const tab of [$("tab-signin"), $("tab-signup")]) {
      tab.addEventListener("keydown", (event) => {
        if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
          const other = tab.id === "tab-signin" ? $("tab-signup") : $("tab-signin");
          other.click();
          other.focus();
        }
      });
    }
    $("auth-form").addEventListener("submit", (event) => this.submit(event));
  }

  show(error = null) {
    $("auth-view").hidden = false;
    this.setMode(this.mode);
    if (error) this.showError(error);
    this.renderProviders();
    $("email").focus();
  }

  hide() {
    $("auth-view").hidden = true;
  }

  reset() {
    this.mode = "signin";
    $("password").value = "";
  }

  setMode(next) {
    this.mode = next;
    const signup = next === "signup";
    $("tab-signin").setAttribute("aria-selected", String(!signup));
    $("tab-signup").setAttribute("aria-selected", String(signup));
    $("name-field").hidden = !signup;
    $("password-hint").hidden = !signup;
    $("password").autocomplete = signup ? "new-password" : "current-password";
    $("password").minLength = signup ? 8 : 1;
    $("auth-submit").textContent = signup ? "Create account" : "Sign in";
    $("auth-error").hidden = true;
  }

  showError(text) {
    $("auth-error").textContent = text;
    $("auth-error").hidden = false;
  }

  async renderProviders() {
    const offered = await providers(this.client);
    const container = $("oauth-providers");
    container.replaceChildren();
    const back = location.origin + location.pathname; // where the sign-in lands (no hash)
    for (const provider of offered) {
      const id = typeof provider === "string" ? provider : provider.id;
      if (!id) continue;
      this.providerNames.set(id, provider.name ?? id);
      const start = provider.start_url ?? `${this.config.apiUrl}/auth/oauth/${encodeURIComponent(id)}/start`;
      const link = document.createElement("a");
      link.className = "button button-provider button-wide";
      link.href = `${start}?redirect=${encodeURIComponent(back)}`;
      link.textContent = `Sign in with ${provider.name ?? id}`;
      container.append(link);
    }
    $("oauth").hidden = container.childElementCount === 0;
  }

  async submit(event) {
    event.preventDefault();
    const email = $("email").value.trim();
    const password = $("password").value;
    const name = $("name").value.trim();
    const signup = this.mode === "signup";
    if (!email || !password || (signup && !name)) {
      this.showError(signup ? "Enter your name, email and a password." : "Enter your email and password.");
      return;
    }
    if (signup && password.length < 8) {
      this.showError("Choose a password of at least 8 characters.");
      $("password").focus();
      return;
    }
    const button = $("auth-submit");
    button.disabled = true;
    $("auth-error").hidden = true;
    try {
      if (signup) await this.client.auth.signUp({ email, password, name });
      else await this.client.auth.logIn({ email, password });
      $("password").value = ""; // the client's "auth" event shows the notes
    } catch (error) {
      this.showError(describe(error));
    } finally {
      button.disabled = false;
    }
  }

  /**
   * A return from OAuth, read before anything else: `#token=…` (with `result`) signs in,
   * `#error=…` (with `error_description`, `provider`) is shown. The fragment is cleared.
   * @returns {Promise<null | {cancelled?: true, error?: string, notice?: string, signedIn?: true}>}
   */
  async takeFragment() {
    if (!location.hash || location.hash.length < 2) return null;
    const params = new URLSearchParams(location.hash.slice(1));
    if (!params.has("token") && !params.has("error") && !params.has("result")) return null;
    history.replaceState(null, "", location.pathname + location.search);
    const provider = params.get("provider") ?? "";
    const providerName = this.providerNames.get(provider) ?? (provider ? provider[0].toUpperCase() + provider.slice(1) : "the provider");
    const code = params.get("error");
    if (code) {
      if (code === "access_denied") return { cancelled: true }; // the user cancelled: nothing alarming
      const known = OAUTH_ERRORS[code];
      const text = known ? known.replace("{provider}", providerName) : params.get("error_description") || "Sign-in failed.";
      return { error: `${text} (${code})` };
    }
    const token = params.get("token");
    if (!token) {
      return params.get("result") === "linked" ? { notice: `${providerName} is now connected to your account.` } : null;
    }
    try {
      const user = await this.client.auth.useToken(token);
      return params.get("result") === "created" ? { notice: `Welcome, ${user.name}!` } : { signedIn: true };
    } catch (error) {
      return { error: describe(error) };
    }
  }
}
