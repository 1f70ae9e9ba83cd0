// The header's unread notification count refreshes itself while the tab is visible; no build step.
const link = document.getElementById("bg-notifications");

if (link && link.dataset.countUrl) {
  const interval = Number(link.dataset.pollMs) || 20000;
  const unread = link.querySelector(".bg-unread");
  let timer = null;
  let failures = 0;

  const schedule = (delay) => {
    clearTimeout(timer);
    timer = document.visibilityState === "visible" ? setTimeout(refresh, delay) : null;
  };

  async function refresh() {
    timer = null;
    try {
      const response = await fetch(link.dataset.countUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.status === 401 || response.status === 403) return; // logged out: nothing to count
      if (!response.ok) throw new Error(`The server answered ${response.status}.`);
      const body = await response.json();
      unread.textContent = body.label;
      link.classList.toggle("bg-has-unread", body.unread > 0);
      failures = 0;
      schedule(interval);
    } catch {
      // A restart or a dropped connection: try again later, less often each time.
      failures += 1;
      schedule(Math.min(interval * 2 ** failures, 5 * 60 * 1000));
    }
  }

  // A hidden tab asks nothing; coming back asks at once, then on the usual rhythm.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
    else schedule(0);
  });
  schedule(interval);
}
