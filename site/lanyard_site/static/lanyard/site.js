// The site's only script (a file, so the Content-Security-Policy allows no inline script):
// an avatar image that fails to load (offline, blocked, gone) is removed, uncovering the
// initials drawn beneath it instead of a broken-image icon. Loaded in <head>, so the
// listener is there before any image fails.
(function () {
  function isAvatar(node) {
    return node && node.tagName === "IMG" && node.parentNode && node.parentNode.classList.contains("avatar");
  }
  document.addEventListener("error", function (event) {
    if (isAvatar(event.target)) { event.target.remove(); }
  }, true);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".avatar img").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0) { img.remove(); }
    });
  });
})();
