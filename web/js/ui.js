// Small pieces every view uses: element lookup, toasts, the banner, relative times and
// what an error says to a person.

import { ApiError, NetworkError } from "../client/index.js";

export const $ = (id) => document.getElementById(id);

export function describe(error) {
  if (error instanceof ApiError) {
    const fields = error.details
      .filter((detail) => detail.field !== undefined)
      .map((detail) => `${detail.field}: ${detail.message}`)
      .join("; ");
    let text = error.message;
    if (fields) text += ` (${fields})`;
    if (error.retryAfter) text += ` Try again in ${Math.ceil(error.retryAfter)} s.`;
    return text;
  }
  if (error instanceof NetworkError) return "Cannot reach the server. Check your connection.";
  console.error(error);
  return "Something went wrong. Please try again.";
}

export function toast(text, { kind = "info", timeout = 5000 } = {}) {
  const element = document.createElement("div");
  element.className = `toast toast-${kind}`;
  if (kind === "error") element.setAttribute("role", "alert");
  element.textContent = text;
  $("toasts").append(element);
  setTimeout(() => {
    element.classList.add("toast-leaving");
    setTimeout(() => element.remove(), 300);
  }, timeout);
}

export function showBanner(text) {
  $("banner-text").textContent = text;
  $("banner").hidden = false;
}

export function wireBanner() {
  $("banner-close").addEventListener("click", () => {
    $("banner").hidden = true;
  });
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
export const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function ago(epochMs) {
  const seconds = (epochMs - Date.now()) / 1000;
  if (Math.abs(seconds) < 45) return "just now";
  if (Math.abs(seconds) < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (Math.abs(seconds) < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  if (Math.abs(seconds) < 7 * 86400) return relative.format(Math.round(seconds / 86400), "day");
  return dateFormat.format(new Date(epochMs));
}
