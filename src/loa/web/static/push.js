/* Web Push on this device, from the settings page: ask the browser's permission, subscribe with the server's VAPID
   key and register the subscription with Loa (or the reverse). Every outcome is said in words in [data-push-status];
   the messages come from the page (data-msg-*) in the reader's language. */
(function () {
  "use strict";

  var box = document.querySelector("[data-push]");
  if (!box) return;
  var on = box.querySelector("[data-push-on]");
  var off = box.querySelector("[data-push-off]");
  var status = box.querySelector("[data-push-status]");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  function say(key) { status.textContent = box.getAttribute("data-msg-" + key) || ""; }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function current() {
    return navigator.serviceWorker.getRegistration("/").then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    });
  }

  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
  }

  function send(method, body) {
    return fetch("/api/v1/me/push-subscriptions", {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok && response.status !== 404) throw new Error("push registration: " + response.status);
    });
  }

  on.addEventListener("click", function () {
    if (!supported()) { say("unsupported"); return; }
    say("working");
    on.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { say("denied"); return null; }
      return navigator.serviceWorker.register("/sw.js", { scope: "/" })
        .then(function () { return navigator.serviceWorker.ready; })
        .then(function (registration) {
          return fetch("/api/v1/push/key", { credentials: "same-origin" })
            .then(function (response) { return response.json(); })
            .then(function (key) {
              return registration.pushManager.subscribe({ userVisibleOnly: true,
                                                           applicationServerKey: keyBytes(key.public_key) });
            });
        })
        .then(function (subscription) {
          var json = subscription.toJSON();
          return send("POST", { endpoint: json.endpoint, keys: json.keys });
        })
        .then(function () { say("on"); show(true); });
    }).catch(function () { say("failed"); }).then(function () { on.disabled = false; });
  });

  off.addEventListener("click", function () {
    say("working");
    current().then(function (subscription) {
      if (!subscription) return null;
      return send("DELETE", { endpoint: subscription.endpoint }).then(function () { return subscription.unsubscribe(); });
    }).then(function () { say("off"); show(false); }).catch(function () { say("failed"); });
  });

  if (supported()) {
    current().then(function (subscription) { show(Boolean(subscription)); }).catch(function () { show(false); });
  }
})();
