// A page reached by a personal link, shown again from the back/forward cache, is loaded afresh.
window.addEventListener("pageshow", function (event) { if (event.persisted) { location.reload(); } });
