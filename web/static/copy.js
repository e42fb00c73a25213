// pam-totp-web: an optional "Copy" button next to the recovery codes (progressive enhancement only;
// every page works without JavaScript). Loaded as an external file: the Content-Security-Policy
// allows no inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var text = document.getElementById("recovery-text");
  if (!text || !navigator.clipboard || !window.isSecureContext) {
    return;
  }
  var row = document.createElement("p");
  row.className = "copy-row";
  var button = document.createElement("button");
  button.type = "button";
  button.id = "copy";
  button.className = "secondary";
  button.textContent = text.getAttribute("data-copy-label") || "Copy";
  var done = document.createElement("span");
  done.className = "copy-done";
  done.setAttribute("role", "status");
  row.appendChild(button);
  row.appendChild(done);
  text.parentNode.insertBefore(row, text.nextSibling);
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(text.value).then(function () {
      done.textContent = text.getAttribute("data-copied-label") || "Copied";
    }, function () {
      text.focus();
      text.select();
    });
  });
});
