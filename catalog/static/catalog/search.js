// The search page: search as you type through GET /api/songs/search/, keyboard navigation,
// the query in the URL. Without this script the form GETs /?q= and the server renders the
// same results (catalog/pages.py), with the same markup this script builds.
(function () {
  "use strict";
  var DEBOUNCE_MS = 200;
  var LIMIT = 20;
  var UNAVAILABLE = ["timeout", "rate_limited", "circuit_open", "error"];

  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var list = document.getElementById("results");
  var statusLine = document.getElementById("status");
  var empty = document.getElementById("empty");
  var errorLine = document.getElementById("error");
  var note = document.getElementById("spotify-note");
  // spotify=auto|always|never, when the page was opened with one, goes with every search.
  var mode = new URLSearchParams(window.location.search).get("spotify");
  var timer = null;
  var pending = null;
  var selected = -1;

  function urlQuery() {
    return new URLSearchParams(window.location.search).get("q") || "";
  }

  function duration(ms) {
    if (typeof ms !== "number" || ms < 0) return "";
    var s = Math.round(ms / 1000);
    var rest = s % 60;
    return Math.floor(s / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function showEmpty(message) {
    empty.replaceChildren();
    if (message) empty.appendChild(el("p", null, message));
    empty.hidden = !message;
  }

  function items() {
    return list.querySelectorAll(".result");
  }

  function select(index) {
    var all = items();
    if (!all.length) { selected = -1; input.removeAttribute("aria-activedescendant"); return; }
    selected = Math.max(-1, Math.min(index, all.length - 1));
    all.forEach(function (item, i) { item.setAttribute("aria-selected", i === selected ? "true" : "false"); });
    if (selected >= 0) {
      input.setAttribute("aria-activedescendant", all[selected].id);
      all[selected].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function open(item) {
    var href = item && item.getAttribute("data-href");
    if (href) window.location.assign(href);
  }

  function render(q, data) {
    list.replaceChildren();
    selected = -1;
    input.removeAttribute("aria-activedescendant");
    errorLine.hidden = true;
    var spotify = (data.sources && data.sources.spotify) || {};
    note.hidden = UNAVAILABLE.indexOf(spotify.status) < 0;
    var results = data.results || [];
    results.forEach(function (hit, i) {
      var song = hit.song || {};
      var url = song.spotify && song.spotify.url;
      var li = el("li", "result");
      li.id = "result-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-href", url || (song.id ? "/api/songs/" + song.id + "/" : ""));
      var line = el("div", "line");
      line.appendChild(el("span", "title", song.title));
      if (hit.source === "spotify") line.appendChild(el("span", "badge", "from Spotify"));
      if (url) {
        var link = el("a", "spotify-link", "Open in Spotify");
        link.href = url;
        link.tabIndex = -1;
        line.appendChild(link);
      }
      var meta = el("div", "meta");
      var names = (song.artists || []).map(function (a) { return a.name; }).join(", ");
      meta.appendChild(el("span", "artists", names));
      if (song.album) meta.appendChild(el("span", "album", song.album.title));
      if (song.release_year) meta.appendChild(el("span", "year", song.release_year));
      if (song.duration_ms) meta.appendChild(el("span", "duration", duration(song.duration_ms)));
      li.appendChild(line);
      li.appendChild(meta);
      list.appendChild(li);
    });
    input.setAttribute("aria-expanded", results.length ? "true" : "false");
    if (results.length) {
      var n = data.total;
      statusLine.textContent = n + (data.total_is_exact === false ? "+" : "") +
        " result" + (n === 1 ? "" : "s") + " for “" + q + "”";
      showEmpty("");
    } else {
      statusLine.textContent = "No results";
      showEmpty("No songs match “" + q + "”. Check the spelling, or try fewer or shorter words.");
    }
  }

  function clearResults() {
    list.replaceChildren();
    selected = -1;
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", "false");
    statusLine.textContent = "";
    errorLine.hidden = true;
    note.hidden = true;
    showEmpty("Type a song title, an artist or an album to start.");
  }

  function showError(message) {
    list.replaceChildren();
    selected = -1;
    statusLine.textContent = "";
    note.hidden = true;
    showEmpty("");
    errorLine.textContent = message;
    errorLine.hidden = false;
  }

  // Typing on from the query in the URL replaces its history entry; a new search adds one,
  // so Back returns to the previous search rather than to each keystroke.
  function remember(q) {
    var current = urlQuery();
    if (q === current) return;
    var params = new URLSearchParams();
    if (q) params.set("q", q);
    if (mode) params.set("spotify", mode);
    var url = params.toString() ? "/?" + params.toString() : "/";
    var typingOn = current && q && (q.indexOf(current) === 0 || current.indexOf(q) === 0);
    if (typingOn) window.history.replaceState({ q: q }, "", url);
    else window.history.pushState({ q: q }, "", url);
  }

  function search(q, record) {
    q = q.trim();
    if (record) remember(q);
    document.title = (q ? q + " · " : "") + "Encore: search songs";
    if (pending) pending.abort();
    if (!q) { clearResults(); return; }
    pending = new AbortController();
    var params = new URLSearchParams({ q: q, limit: String(LIMIT) });
    if (mode) params.set("spotify", mode);
    fetch("/api/songs/search/?" + params.toString(), {
      headers: { Accept: "application/json" },
      signal: pending.signal,
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (answer.ok) render(q, answer.body);
        else showError((answer.body.error && answer.body.error.message) || "The search failed.");
      })
      .catch(function (err) {
        if (err.name !== "AbortError") showError("The search could not reach Encore. Try again.");
      });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { search(input.value, true); }, DEBOUNCE_MS);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    search(input.value, true);
  });

  input.addEventListener("keydown", function (event) {
    var all = items();
    if (event.key === "ArrowDown") {
      event.preventDefault();
      select(selected + 1 >= all.length ? 0 : selected + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      select(selected <= 0 ? all.length - 1 : selected - 1);
    } else if (event.key === "Enter" && selected >= 0) {
      event.preventDefault();
      open(all[selected]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      clearTimeout(timer);
      input.value = "";
      search("", true);
    }
  });

  list.addEventListener("click", function (event) {
    if (event.target.closest("a")) return;
    open(event.target.closest(".result"));
  });

  window.addEventListener("popstate", function () {
    clearTimeout(timer);
    input.value = urlQuery();
    search(input.value, false);
  });
})();
