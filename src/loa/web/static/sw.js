/* Loa's service worker: shows the pushes the server sends (an announcement, a step of one's report) and opens the
   page they lead to. It handles nothing else: pages are always loaded from the server. */
"use strict";

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = {}; }
  var title = data.title || "Loa";
  var options = { body: data.body || data.account_name || "", tag: data.tag || undefined,
                  data: { url: data.url || "/" }, lang: "vi" };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) return; // only our own pages
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === target.href && "focus" in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow(target.href);
  }));
});
