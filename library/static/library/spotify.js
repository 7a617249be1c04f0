// The /spotify/ page's "sync now" without leaving the page: POST /api/spotify/me/sync/, then
// follow the job(s) through GET /api/spotify/me/sync/ until they end, and reload to show what
// they stored. Without this script the form POSTs to /spotify/sync/ and the page says the same.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var MAX_POLLS = 90;
  var form = document.getElementById("sync-form");
  var line = document.getElementById("sync-status");
  if (!form || !line || !window.fetch) return;
  var api = form.getAttribute("data-api");
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var button = form.querySelector("button");

  function say(text) { line.textContent = text; }

  function follow(ids, polls) {
    if (polls > MAX_POLLS) { say("Still running; reload the page later to see it."); button.disabled = false; return; }
    fetch(api + "?limit=20", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var mine = (data.results || []).filter(function (job) { return ids.indexOf(job.id) >= 0; });
        var open = mine.filter(function (job) { return job.status === "pending" || job.status === "running"; });
        if (open.length) {
          say("Syncing " + open.map(function (job) { return job.what; }).join(" and ") + "…");
          window.setTimeout(function () { follow(ids, polls + 1); }, POLL_MS);
          return;
        }
        var failed = mine.filter(function (job) { return job.status !== "succeeded"; });
        say(failed.length ? "Sync ended: " + failed.map(function (job) {
          return job.what + " " + job.status + (job.error ? " (" + job.error.message + ")" : "");
        }).join("; ") : "Sync done.");
        window.setTimeout(function () { window.location.reload(); }, failed.length ? 4000 : 600);
      })
      .catch(function () { say("Could not check the sync; reload the page to see it."); button.disabled = false; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    say("Starting…");
    fetch(api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ what: form.elements.what.value })
    })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (answer) {
        if (!answer.ok) {
          say("Not synced: " + ((answer.body.error && answer.body.error.message) || "the server refused."));
          button.disabled = false;
          return;
        }
        var jobs = answer.body.jobs || [];
        var already = jobs.every(function (job) { return job.already_running; });
        say(already ? "A sync was already running; following it…" : "Sync started…");
        follow(jobs.map(function (job) { return job.id; }), 0);
      })
      .catch(function () { button.disabled = false; form.submit(); });
  });
})();
