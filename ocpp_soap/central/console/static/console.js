// ocpp-soap console: times in the browser's zone, live refresh of page parts, confirmations.
// Everything works without this script; it only makes reading nicer and pages current.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.local) return;
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      el.textContent = d.toLocaleString(undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit"
      });
      el.title = "UTC: " + d.toISOString().replace(".000Z", "Z");
      el.dataset.local = "1";
    });
  }

  function refresh(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.assign(window.location.pathname.split("/ui/")[0] + "/ui/login"); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data || !data.fragments) return;
        Object.keys(data.fragments).forEach(function (id) {
          var el = document.getElementById(id);
          if (el && el.innerHTML !== data.fragments[id]) {
            el.innerHTML = data.fragments[id];
            localTimes(el);
          }
        });
        document.body.dataset.refreshed = String(Date.now());
      })
      .catch(function () { /* the next round tries again */ });
  }

  function live() {
    var el = document.querySelector("[data-live]");
    if (!el) return;
    var url = el.getAttribute("data-live");
    var every = Math.max(2, parseInt(el.getAttribute("data-every") || "5", 10)) * 1000;
    setInterval(function () { if (!document.hidden) refresh(url); }, every);
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });
    // A choice made with the mouse opens its form at once; with the keyboard, arrowing through
    // the list must not leave the page: the Choose button (or Enter on it) does that.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("pointerdown", function () { select.dataset.pointer = "1"; });
      select.addEventListener("keydown", function () { select.dataset.pointer = ""; });
      select.addEventListener("change", function () {
        if (select.dataset.pointer) select.form.submit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    confirmations();
    live();
  });
})();
