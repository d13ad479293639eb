// Live updates: the server sends a "change" event on /events whenever incidents, pages or modules change;
// we re-fetch this same page and swap every element marked data-live (forms are outside those, so typing
// is never lost). Without JavaScript the page is complete as served.
(function () {
  var state = document.getElementById('live-state');
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var busy = false, again = false, opened = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        document.querySelectorAll('[data-live]').forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (fresh) el.replaceWith(document.importNode(fresh, true));
        });
        document.title = doc.title;
        document.body.setAttribute('data-refreshed', String(Date.now()));
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var events = new EventSource('/events');
  events.addEventListener('change', refresh);
  events.addEventListener('open', function () {
    if (state) state.textContent = 'Live: this page updates by itself.';
    // After a reconnect we may have missed a change.
    if (opened) refresh();
    opened = true;
  });
  events.addEventListener('error', function () {
    if (state) state.textContent = 'Live updates paused; reconnecting…';
  });
})();
