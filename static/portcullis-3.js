// Portcullis: the little behaviour htmx does not cover. Loaded as a file, so the
// Content-Security-Policy needs no 'unsafe-inline'.
"use strict";

// Forms with data-confirm ask before submitting (deactivate, delete).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// Buttons with data-copy copy the text of the element they name.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch (_) {
    // No clipboard permission: select the text so the user can copy it by hand.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = "Press Ctrl+C";
  }
});

// While an htmx request runs, the element that sent it is busy: Pico shows a spinner on
// aria-busy buttons, and screen readers announce it.
document.addEventListener("htmx:beforeRequest", (event) => {
  const button = event.detail.elt.querySelector("button[type=submit]") || event.detail.elt;
  button.setAttribute("aria-busy", "true");
});
document.addEventListener("htmx:afterRequest", (event) => {
  const button = event.detail.elt.querySelector("button[type=submit]") || event.detail.elt;
  button.removeAttribute("aria-busy");
});

// The message of a change htmx made arrives as an HX-Trigger "toast" event: shown where
// a page shows it after a plain form post, in the live region screen readers announce.
document.addEventListener("toast", (event) => {
  const region = document.getElementById("toasts");
  if (!region || !event.detail || typeof event.detail.value !== "string") return;
  const toast = document.createElement("p");
  toast.className = "toast";
  toast.id = "toast";
  toast.textContent = event.detail.value;
  region.replaceChildren(toast);
});
