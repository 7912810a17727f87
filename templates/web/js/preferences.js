(function () {
  // The weekday only counts for a weekly digest: greyed out for a daily one. Enabled without JavaScript.
  // First synced on pageshow, not before: going Back to the form, the browser puts the chosen cadence
  // and weekday back after the page has loaded (Chromium: just before pageshow), and it does not
  // restore a select that is disabled by then.
  var cadence = document.getElementById("cadence"), weekday = document.getElementById("weekday");
  function sync() { weekday.disabled = cadence.value !== "weekly"; }
  cadence.addEventListener("change", sync);
  window.addEventListener("pageshow", sync);
})();
