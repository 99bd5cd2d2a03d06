"use strict";
// Calls the service's own API and the legacy app on the same origin.
async function refresh() {
  const todos = await (await fetch("/api/todos")).json();
  document.getElementById("todos").replaceChildren(...todos.map((t) => {
    const li = document.createElement("li");
    li.textContent = t.title;
    return li;
  }));
}
document.getElementById("new").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const title = new FormData(ev.target).get("title");
  await fetch("/api/todos", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ title }) });
  ev.target.reset();
  refresh();
});
fetch("/legacy/reports/42").then((r) => r.json()).then((rep) => {
  document.getElementById("legacy").textContent = "report " + rep.report + " from " + rep.from;
});
refresh();
