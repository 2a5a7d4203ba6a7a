
(function () {
  var root = document.documentElement;
  function record(message) {
    var previous = root.getAttribute('data-script-errors') || '';
    root.setAttribute('data-script-errors', previous + (previous ? ' | ' : '') + message);
  }
  window.__recordError = record;
  window.addEventListener('error', function (event) { record(String(event.message || 'error')); });
  window.addEventListener('unhandledrejection', function (event) { record('unhandled rejection: ' + String(event.reason)); });
})();
