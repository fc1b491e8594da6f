// Tansa console: keyboard shortcuts and small progressive enhancements.
// Every page works without this script; it only saves keystrokes.
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches("select[data-autosubmit]")) el.form.submit();
  });
  var pending = null, timer = null;
  function typing(el) {
    return el && (el.isContentEditable || /^(input|textarea|select)$/i.test(el.tagName));
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (pending === "g") {
      pending = null;
      clearTimeout(timer);
      var link = document.querySelector('nav.side a[data-key="' + e.key + '"]');
      if (link) { e.preventDefault(); link.click(); }
      return;
    }
    if (e.key === "g") { pending = "g"; timer = setTimeout(function () { pending = null; }, 1500); return; }
    if (e.key === "/") {
      var q = document.querySelector("input[type=search]");
      if (q) { e.preventDefault(); q.focus(); }
      return;
    }
    if (e.key === "?") {
      var d = document.getElementById("shortcuts");
      if (d && d.showModal) { e.preventDefault(); d.showModal(); }
    }
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("[data-confirm]") : null;
    if (b && !window.confirm(b.getAttribute("data-confirm"))) e.preventDefault();
    var c = e.target.closest ? e.target.closest("[data-copy]") : null;
    if (c && navigator.clipboard) {
      navigator.clipboard.writeText(document.getElementById(c.getAttribute("data-copy")).textContent).then(function () {
        var label = c.textContent, done = c.getAttribute("data-copied");
        if (!done) return;
        c.textContent = done;
        setTimeout(function () { c.textContent = label; }, 2000);
      });
    }
  });
})();
