// Settings for the shared TikTok fixture (see e2e/fixtures/www.tiktok.com/tt-app.js).
window.CLAW_TT_FIXTURE = {
  "loggedIn": true,
  "overlays": [
    "tour",
    "contentCheck"
  ],
  "newId": "7452000000000000501",
  "uploadMs": 2500
};
