// frontdoor demo: call /api/ on the page's own origin and count which
// backend answered each call.
"use strict";

(function () {
  const state = {
    counts: {},   // backend name -> answers
    calls: 0,     // calls answered
    errors: 0,    // calls that failed
    live: true,
  };
  // Exposed for the end-to-end browser test and for curious visitors.
  window.frontdoorDemo = state;

  const backendsEl = document.getElementById("backends");
  const logEl = document.getElementById("log");
  const statusEl = document.getElementById("status");
  const liveBtn = document.getElementById("live");
  const burstBtn = document.getElementById("burst");

  function render() {
    const names = Object.keys(state.counts).sort();
    const total = names.reduce((n, k) => n + state.counts[k], 0);
    backendsEl.replaceChildren(...names.map((name) => {
      const card = document.createElement("div");
      card.className = "backend";
      card.dataset.name = name;
      const title = document.createElement("div");
      title.className = "name";
      title.textContent = name;
      const count = document.createElement("div");
      count.className = "count";
      count.textContent = String(state.counts[name]);
      const bar = document.createElement("div");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.style.width = (total ? (100 * state.counts[name]) / total : 0) + "%";
      bar.append(fill);
      card.append(title, count, bar);
      return card;
    }));
    statusEl.textContent = state.calls + " answered, " + names.length +
      " backend" + (names.length === 1 ? "" : "s") + " seen" +
      (state.errors ? ", " + state.errors + " failed" : "");
    document.body.dataset.backends = String(names.length);
  }

  function logLine(text, isError) {
    const li = document.createElement("li");
    li.textContent = text;
    if (isError) li.className = "error";
    logEl.prepend(li);
    while (logEl.children.length > 12) logEl.lastElementChild.remove();
  }

  let seq = 0;
  async function call() {
    const n = ++seq;
    const started = performance.now();
    try {
      const resp = await fetch("/api/hello?call=" + n, { headers: { Accept: "application/json" } });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      const body = await resp.json();
      const ms = Math.round(performance.now() - started);
      state.calls++;
      state.counts[body.backend] = (state.counts[body.backend] || 0) + 1;
      logLine("#" + n + " GET " + body.path + " \u2192 " + body.backend + " (" + ms + " ms)");
    } catch (err) {
      state.errors++;
      logLine("#" + n + " failed: " + err.message, true);
    }
    render();
  }

  async function burst(k) {
    for (let i = 0; i < k; i++) await call();
  }

  liveBtn.addEventListener("click", () => {
    state.live = !state.live;
    liveBtn.textContent = state.live ? "Pause live calls" : "Resume live calls";
    liveBtn.setAttribute("aria-pressed", String(state.live));
  });
  burstBtn.addEventListener("click", () => burst(9));

  setInterval(() => { if (state.live) call(); }, 1500);
  document.body.dataset.script = "ran";
  burst(9);
})();
