// Live inbox: the portal relays the agency's notification stream; on each notification the
// table's rows are fetched again, already rendered by the server, so the page never reloads.
// Without JavaScript the inbox is a plain page that shows the state when it was loaded.
"use strict";

(function () {
  const table = document.querySelector("table[data-live-stream]");
  if (!table || !window.EventSource) {
    return;
  }
  const body = table.querySelector("tbody");
  const status = document.getElementById("live-status");
  let refreshing = false;
  let again = false;
  const changed = new Set();

  async function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      const answer = await fetch(table.dataset.liveRows, { credentials: "same-origin" });
      if (answer.ok) {
        body.innerHTML = await answer.text();
        for (const row of body.querySelectorAll("tr[data-referral]")) {
          if (changed.has(row.dataset.referral)) {
            row.classList.add("changed");
          }
        }
        if (changed.size) {
          const time = new Date().toLocaleTimeString(document.documentElement.lang);
          status.textContent = status.dataset.updated.replace("{time}", time);
        }
      }
    } finally {
      refreshing = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  const source = new EventSource(table.dataset.liveStream);
  // On (re)connecting, catch up once: a change made between the page's rendering and the
  // stream's start would otherwise show only with the next notification.
  source.addEventListener("ready", async () => {
    await refresh();
    document.body.dataset.live = "connected";
  });
  source.addEventListener("handoff", (message) => {
    changed.add(JSON.parse(message.data).referral_id);
    refresh();
  });
  source.addEventListener("error", async () => {
    if (source.readyState !== EventSource.CLOSED) {
      document.body.dataset.live = "reconnecting";
      return;
    }
    // The browser gave up: the portal answered with something other than a stream. If the
    // session has ended, ask for a sign-in that returns here; otherwise say so.
    document.body.dataset.live = "stopped";
    const answer = await fetch(table.dataset.liveRows, { credentials: "same-origin" });
    if (answer.redirected && new URL(answer.url).pathname === "/sign-in") {
      location.assign("/sign-in?next=" + encodeURIComponent(location.pathname + location.search));
      return;
    }
    status.textContent = status.dataset.stopped;
  });
})();
