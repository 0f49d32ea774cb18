// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "lang": "de",
  "composer": "modal",
  "overlays": [
    "cookies"
  ],
  "toast": "none",
  "render": "rich",
  "newPostId": "1866540077777777777",
  "pinned": {
    "id": "1790000000000000301",
    "text": "Grüße aus der Redaktion 👋 Neue Ausgabe: https://clawpost.net/de/ausgabe-11 #Newsletter"
  }
};
