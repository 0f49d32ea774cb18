// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "composer": "both",
  "earlierPosts": [{ "id": "1790000000000000077", "text": "Already out there, once" }]
};
