// The sign-up page: the browser's time zone, and a live preview of the papers the topics would match.
(function () {
  var form = document.getElementById("subscribe"), zone = document.getElementById("timezone");
  var topics = document.getElementById("topics"), cadence = document.getElementById("cadence");
  var list = document.getElementById("matches"), heading = document.getElementById("matches-heading");
  var unmatched = document.getElementById("unmatched"), unlisted = document.getElementById("unlisted");
  var timer = null, asked = 0, zoneTouched = false;
  zone.addEventListener("input", function () { zoneTouched = true; });
  // The browser's time zone replaces only the server's default that nobody touched: never a zone the
  // reader typed, nor one the browser put back when they came Back to the form, which it may do after
  // this script has run (hence pageshow too). A form sent back with an error keeps what was sent.
  function prefillZone() {
    if (form.dataset.submitted === "true" || zoneTouched || zone.value !== zone.defaultValue) { return; }
    try { zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || zone.value; } catch (e) {}
  }
  function when() { return cadence.value === "weekly" ? "this week’s" : "today’s"; }
  function retitle() { heading.textContent = when().charAt(0).toUpperCase() + when().slice(1) + " papers on these topics"; }
  function hint(text) {
    var li = document.createElement("li"); li.className = "hint"; li.textContent = text; list.appendChild(li);
  }
  // Each topic in its own <bdi>: a right-to-left topic must not reorder the sentence around it.
  function named(element, topics, lead, tail, quoted) {
    element.textContent = "";
    element.hidden = !topics.length;
    if (!topics.length) { return; }
    element.appendChild(document.createTextNode(lead));
    topics.forEach(function (topic, i) {
      var name = document.createElement("bdi"); name.textContent = quoted ? "“" + topic + "”" : topic;
      if (i) { element.appendChild(document.createTextNode(", ")); }
      element.appendChild(name);
    });
    element.appendChild(document.createTextNode(tail(topics.length)));
  }
  function noMatchFor(topics) {
    named(unmatched, topics, "No match yet for: ", function (n) { return ". Other words for " + (n === 1 ? "it" : "them") + " may find papers."; });
  }
  function noRoomFor(topics) {
    named(unlisted, topics, "Also matching papers, not listed here for want of room: ", function () { return "."; });
  }
  function show(data) {
    var items = data.matches || [];
    list.textContent = "";
    noMatchFor([]); noRoomFor([]);
    if (data.error) { hint(data.error.charAt(0).toUpperCase() + data.error.slice(1) + "."); return; }
    if (data.pool === 0) { hint("No papers have been fetched for " + when() + " digest yet: the preview fills in after the next fetch."); return; }
    if (!items.length) { hint("No match among " + when() + " papers yet."); return; }
    items.forEach(function (m) {
      var li = document.createElement("li"), a = document.createElement("a"), why = document.createElement("div");
      a.href = m.url; a.textContent = m.title; why.className = "why"; why.textContent = m.reason;
      // The reader's other topics this paper matches: each topic is seen to match, even when its
      // papers are all listed under another one.
      var others = m.also || [], also = document.createElement("span");
      named(also, others, "; also matches your topic" + (others.length === 1 ? " " : "s "), function () { return ""; }, true);
      why.appendChild(also);
      li.appendChild(a); li.appendChild(why); list.appendChild(li);
    });
    // Matches for some topics only: name the others (with none at all, the hint above says so).
    noMatchFor(data.unmatched || []);
    noRoomFor(data.unlisted || []);
  }
  function failed(status) {
    list.textContent = ""; noMatchFor([]); noRoomFor([]);
    if (status === 403) {
      hint("The preview could not be checked: this page has been open a long time, or the browser did not keep its cookie. Reload the page to see it.");
    } else {
      hint("The preview is not available just now" + (typeof status === "number" ? " (the server answered " + status + ")" : ": the server could not be reached") + ". Signing up still works.");
    }
  }
  function refresh() {
    clearTimeout(timer);
    if (!topics.value.trim()) { list.textContent = ""; noMatchFor([]); noRoomFor([]); hint("Type a topic to see which of the papers it would match."); return; }
    timer = setTimeout(function () {
      var mine = ++asked;
      // Posted with the form's CSRF token, as the form itself is: fifty long topics do not fit in an address.
      var body = new URLSearchParams({ csrftoken: form.elements.csrftoken.value, topics: topics.value, cadence: cadence.value });
      fetch("/topic-preview", { method: "POST", body: body, credentials: "same-origin" })
        // Errors come as JSON too (a bad topic, too many requests): show what they say. Anything else fails.
        .then(function (r) { return r.json().catch(function () { throw r.status; }); })
        .then(function (data) { if (mine === asked) { show(data); } },
              function (status) { if (mine === asked) { failed(status); } });
    }, 300);
  }
  prefillZone();
  document.getElementById("preview").hidden = false;
  topics.addEventListener("input", refresh);
  cadence.addEventListener("change", function () { retitle(); if (topics.value.trim()) { refresh(); } });
  // On load, and going Back to the page: the browser may have restored the cadence and the topics
  // (or a page sent back with an error kept them), so the title and the preview follow them at once.
  window.addEventListener("pageshow", function () {
    prefillZone(); retitle();
    if (topics.value.trim()) { refresh(); }
  });
})();
