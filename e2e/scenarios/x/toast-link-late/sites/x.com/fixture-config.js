// Settings for the shared X fixture (see e2e/fixtures/x.com/x-app.js).
window.CLAW_X_FIXTURE = {
  "loggedIn": true,
  "composer": "both",
  "toast": "late",
  "toastLinkDelayMs": 1500,
  "newPostId": "1866540011111111111",
  "profile": "stale"
};
