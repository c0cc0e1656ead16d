// Vigil console: live updates (server-sent events) and one-click actions. No libraries.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  var table = document.getElementById("incidents");
  var heading = document.querySelector("h1[data-key]");
  var applied = document.getElementById("applied");

  function refreshRows() {
    fetch(table.dataset.rows, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { table.tBodies[0].innerHTML = html; } });
  }

  if (table || heading) {
    var events = new EventSource("/console/events");
    events.addEventListener("incident", function (msg) {
      var inc = JSON.parse(msg.data);
      if (table) { refreshRows(); }
      if (heading && inc.dedup_key === heading.dataset.key) {
        // the worker's escalation came back: the action is applied
        if (applied) { applied.textContent = "Now " + inc.status + (inc.acknowledged_by ? " (acknowledged by " + inc.acknowledged_by + ")" : ""); }
        setTimeout(function () { window.location.reload(); }, 300);
      }
    });
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button.act");
    if (!b) { return; }
    var note = document.getElementById("note");
    b.disabled = true;
    fetch("/console/act", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({verb: b.dataset.verb, community: b.dataset.community,
                            ref: b.dataset.ref, note: note ? note.value : ""})
    }).then(function (r) {
      if (applied) { applied.textContent = r.ok ? "Sent: waiting for the worker…" : "Refused (" + r.status + ")"; }
      if (!r.ok) { b.disabled = false; }
    });
  });
})();

// The review queue: j / k move between posts, t marks toxic, n not toxic.
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll("li.review"));
  if (!items.length) { return; }
  var at = 0;
  items[0].focus();
  document.addEventListener("keydown", function (ev) {
    if (ev.target.tagName === "INPUT" || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var current = items[at];
    if (ev.key === "j" || ev.key === "k") {
      at = Math.max(0, Math.min(items.length - 1, at + (ev.key === "j" ? 1 : -1)));
      items[at].focus();
    } else if ((ev.key === "t" || ev.key === "n") && current) {
      var b = current.querySelector('button[data-verb="' + (ev.key === "t" ? "toxic" : "not_toxic") + '"]');
      if (b && !b.disabled) {
        b.click();
        current.classList.add("done");
        at = Math.min(items.length - 1, at + 1);
        items[at].focus();
      }
    }
  });
})();
