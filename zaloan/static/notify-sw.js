/* The service worker of notices on this phone: shows the neutral sentence a push carries, opens the list on a tap. */
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "Zalo an ninh", {
    body: data.body || "", tag: "zaloan", renotify: true, data: {url: data.url || "/notifications/"}
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
