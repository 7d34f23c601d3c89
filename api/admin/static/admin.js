// Behaviour of the Admin pages that htmx does not cover: confirmations of
// plain forms, copy buttons and pausing the instance list's auto-refresh.
"use strict";

// Forms with data-confirm ask first; htmx elements use hx-confirm instead.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

document.addEventListener("click", async (event) => {
  const copyButton = event.target.closest("[data-copy]");
  if (copyButton) {
    const source = document.querySelector(copyButton.dataset.copy);
    const text = source.value !== undefined ? source.value : source.textContent;
    try {
      await navigator.clipboard.writeText(text);
      copyButton.textContent = "Copied";
    } catch (error) {
      copyButton.textContent = "Copy failed; select the text instead";
    }
    return;
  }

  const pauseButton = event.target.closest("[data-pause-refresh]");
  if (pauseButton) {
    const paused = sessionStorage.getItem("admin-refresh-paused") !== "true";
    sessionStorage.setItem("admin-refresh-paused", String(paused));
    showPauseState();
  }
});

// The list replaces itself on every refresh, so the button's text is set
// again from the stored state after each swap.
function showPauseState() {
  const paused = sessionStorage.getItem("admin-refresh-paused") === "true";
  for (const button of document.querySelectorAll("[data-pause-refresh]")) {
    button.setAttribute("aria-pressed", String(paused));
    button.textContent = paused ? "Resume auto-refresh" : "Pause auto-refresh";
  }
}

document.addEventListener("DOMContentLoaded", showPauseState);
document.addEventListener("htmx:afterSettle", showPauseState);

// A paused list skips its polling requests; htmx keeps the timer running,
// so resuming needs no page load.
document.addEventListener("htmx:beforeRequest", (event) => {
  const polling = event.detail.elt.hasAttribute("data-poll");
  if (polling && sessionStorage.getItem("admin-refresh-paused") === "true") {
    event.preventDefault();
  }
});
