// The account: the button in the top bar (the name, or on narrow screens the initial),
// the account dialog (connected sign-in methods), and signing out.

import { providers } from "./auth_view.js";
import { $, describe, toast } from "./ui.js";

export class AccountView {
  /** @param {{client: any, providerNames: Map<string,string>}} options */
  constructor({ client, providerNames }) {
    this.client = client;
    this.providerNames = providerNames;
  }

  wire() {
    $("account-name").addEventListener("click", () => this.open());
    $("sign-out").addEventListener("click", () => this.signOut());
    $("dialog-sign-out").addEventListener("click", () => {
      $("account-dialog").close();
      this.signOut();
    });
  }

  show(user) {
    $("account").hidden = false;
    const name = user?.name || user?.email || "";
    const button = $("account-name");
    button.textContent = name;
    button.dataset.initial = (name.trim()[0] ?? "?").toUpperCase();
    button.title = `Your account (${user?.email ?? ""})`;
    button.setAttribute("aria-label", `Your account: ${name}`);
  }

  hide() {
    $("account").hidden = true;
    if ($("account-dialog").open) $("account-dialog").close();
  }

  async signOut() {
    try {
      await this.client.auth.logOut(); // the client's "auth" event shows the sign-in card
    } catch (error) {
      toast(`Signed out on this device only: ${describe(error)}`, { kind: "error" });
    }
  }

  async open() {
    const user = this.client.auth.user;
    $("account-full-name").textContent = user?.name ?? "";
    $("account-email").textContent = user?.email ?? "";
    $("account-error").hidden = true;
    $("account-dialog").showModal();
    await this.renderIdentities();
  }

  async renderIdentities() {
    const list = $("identities");
    const connect = $("connect-providers");
    try {
      const [me, offered] = await Promise.all([this.client.request("GET", "/me"), providers(this.client)]);
      for (const provider of offered) this.providerNames.set(provider.id, provider.name ?? provider.id);
      const identities = me?.identities ?? me?.user?.identities ?? [];
      list.replaceChildren();
      if (!identities.length) {
        const none = document.createElement("li");
        none.className = "muted";
        none.textContent = "None connected yet.";
        list.append(none);
      }
      for (const identity of identities) {
        const item = document.createElement("li");
        const label = document.createElement("span");
        const name = this.providerNames.get(identity.provider) ?? identity.provider;
        label.textContent = identity.email ? `${name} (${identity.email})` : name;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button button-quiet button-small";
        remove.textContent = "Disconnect";
        remove.setAttribute("aria-label", `Disconnect ${name}`);
        remove.addEventListener("click", () => this.unlink(identity.provider));
        item.append(label, remove);
        list.append(item);
      }
      connect.replaceChildren();
      const back = location.origin + location.pathname;
      for (const provider of offered) {
        if (identities.some((identity) => identity.provider === provider.id)) continue;
        const link = document.createElement("a");
        link.className = "button button-provider";
        link.href = `${provider.start_url}?link=true&redirect=${encodeURIComponent(back)}`;
        link.textContent = `Connect ${provider.name ?? provider.id}`;
        connect.append(link);
      }
    } catch (error) {
      $("account-error").textContent = describe(error);
      $("account-error").hidden = false;
    }
  }

  async unlink(provider) {
    try {
      await this.client.request("DELETE", `/me/identities/${encodeURIComponent(provider)}`);
      await this.renderIdentities();
    } catch (error) {
      $("account-error").textContent = describe(error); // e.g. 409 last_sign_in_method, as is
      $("account-error").hidden = false;
    }
  }
}
