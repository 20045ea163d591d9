(function () {
  "use strict";
  var form = document.getElementById("search");
  var shown = document.getElementById("shown");
  if (!form || !shown) return;
  var q = form.elements.q, health = form.elements.health;
  var rows = document.querySelectorAll("#services tbody tr");
  var total = shown.getAttribute("data-total");
  // The search the server answered: the rows it left out can only come
  // back from it, so a search that is not a narrowing of this one asks
  // the server again.
  var served = { text: q.value.trim().toLowerCase(), health: health.value };
  var timer = 0, typed = 0;

  function matches(row, text, state) {
    if (state && (" " + row.getAttribute("data-health") + " ").indexOf(" " + state + " ") < 0) return false;
    if (!text || row.getAttribute("data-name").indexOf(text) >= 0) return true;
    var tags = row.getAttribute("data-tags").split(" ");
    for (var i = 0; i < tags.length; i++) {
      if (tags[i] && tags[i].indexOf(text) >= 0) return true;
    }
    return false;
  }

  function apply() {
    typed = Date.now();
    var text = q.value.trim().toLowerCase(), state = health.value;
    var url = new URL(location.href);
    if (q.value.trim()) url.searchParams.set("q", q.value.trim()); else url.searchParams.delete("q");
    if (state) url.searchParams.set("health", state); else url.searchParams.delete("health");
    history.replaceState(null, "", url);
    clearTimeout(timer);
    if (text.indexOf(served.text) < 0 || (served.health && state !== served.health)) {
      timer = setTimeout(function () {
        sessionStorage.setItem("beacon-search-focus", "1");
        location.replace(url);
      }, 250);
      return;
    }
    var n = 0;
    for (var i = 0; i < rows.length; i++) {
      var ok = matches(rows[i], text, state);
      rows[i].hidden = !ok;
      if (ok) n++;
    }
    shown.textContent = text || state ? n + " of " + total + " services match" : total + " services";
  }

  q.addEventListener("input", apply);
  health.addEventListener("change", apply);
  if (sessionStorage.getItem("beacon-search-focus")) {
    sessionStorage.removeItem("beacon-search-focus");
    q.focus();
    q.setSelectionRange(q.value.length, q.value.length);
  }
  // Reload every 10 seconds for fresh counts, but never under the
  // fingers of someone typing.
  setInterval(function () {
    if (document.activeElement !== q && Date.now() - typed > 10000) location.reload();
  }, 10000);
})();
