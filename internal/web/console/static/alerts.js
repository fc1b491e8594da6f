// Tansa console: the Alerts queue's keyboard triage and live refresh.
// Without this script the queue still filters, selects and triages by
// form; it only adds keys and the server-sent event stream.
(function () {
  "use strict";
  var form = document.getElementById("alert-queue");
  if (!form) return;
  var rows = Array.prototype.slice.call(form.querySelectorAll("tbody tr[data-id]"));
  var cur = -1;
  function focusRow(i) {
    if (!rows.length) return;
    cur = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) { r.classList.toggle("current", j === cur); });
    rows[cur].focus();
  }
  function selected() { return form.querySelectorAll("input[name=id]:checked").length; }
  function act(action) {
    if (!selected() && cur >= 0) rows[cur].querySelector("input[name=id]").checked = true;
    if (!selected()) return;
    var b = form.querySelector('button[name=action][value="' + action + '"]');
    if (b) b.click();
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(input|textarea|select)$/i.test(t.tagName))) return;
    switch (e.key) {
      case "j": focusRow(cur + 1); break;
      case "k": focusRow(cur - 1); break;
      case "x":
        if (cur >= 0) { var c = rows[cur].querySelector("input[name=id]"); c.checked = !c.checked; }
        break;
      case "o": case "Enter":
        if (cur >= 0) rows[cur].querySelector("a.open").click();
        break;
      case "a": act("acknowledge"); break;
      case "m": act("assign"); break;
      case "c":
        var reason = document.getElementById("a-reason");
        if (reason && document.activeElement !== reason) { reason.focus(); e.preventDefault(); return; }
        act("close");
        break;
      default: return;
    }
    e.preventDefault();
  });
  // Live refresh: rows already shown update in place; new alerts are
  // counted in a notice that reloads the list.
  if (!window.EventSource) return;
  var live = document.getElementById("alerts-live"), fresh = 0;
  var params = new URLSearchParams(window.location.search);
  var src = new EventSource("/api/v1/alerts/stream" + (params.get("tenant") ? "?tenant=" + encodeURIComponent(params.get("tenant")) : ""));
  src.addEventListener("alert", function (ev) {
    var a;
    try { a = JSON.parse(ev.data); } catch (err) { return; }
    var row = form.querySelector('tr[data-id="' + a.id + '"]');
    if (row) {
      var n = row.querySelector('[data-field="count"]');
      if (n) n.textContent = a.count;
      row.classList.add("updated");
      return;
    }
    if (!a.new) return;
    fresh++;
    live.hidden = false;
    live.textContent = "";
    var link = document.createElement("a");
    link.href = window.location.pathname + window.location.search;
    link.textContent = live.getAttribute("data-new").replace("%d", fresh) + " — " + live.getAttribute("data-reload");
    live.appendChild(link);
  });
})();
